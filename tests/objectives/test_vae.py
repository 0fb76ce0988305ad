"""VAE objectives: the ELBO's parts, and the IWAE bound's relations to it."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from genjax.distributions import standard_normal
from genjax.models.vae import VAE
from genjax.objectives import vae as obj


@pytest.fixture(scope='module')
def model_and_params():
  model = VAE(image_shape=(8, 8, 1), latent_dim=3, hidden=(16,))
  x = (jax.random.uniform(jax.random.PRNGKey(0), (6, 8, 8, 1)) < 0.4).astype(jnp.float32)
  params = model.init(jax.random.PRNGKey(1), x)
  return model, params, x


@pytest.mark.slow
def test_elbo_is_recon_minus_kl(model_and_params):
  model, params, x = model_and_params
  t = obj.elbo_terms(model, params, x, None, jax.random.PRNGKey(2))
  np.testing.assert_allclose(t['elbo'], t['recon'] - t['kl'], rtol=1e-6)
  assert np.all(np.asarray(t['kl']) >= 0)


def test_iwae_with_one_sample_is_the_single_sample_elbo(model_and_params):
  """IWAE_1 = log p(x|z) + log p(z) - log q(z|x) at the same z: the ELBO's MC form."""
  model, params, x = model_and_params
  rng = jax.random.PRNGKey(3)
  iwae1 = obj.iwae_bound(model, params, x, None, rng, num_samples=1)
  q = model.apply(params, x, method=VAE.encode)
  z = q.sample(jax.random.split(rng, 1)[0], 1)
  log_px = model.apply(params, z, method=VAE.decode).log_prob(x)
  mc_elbo = (log_px + standard_normal((3,)).log_prob(z) - q.log_prob(z))[0]
  np.testing.assert_allclose(iwae1, mc_elbo, rtol=1e-5)


def _over_keys(fn, keys):
  """fn(key) for every key, in one compiled call."""
  return np.asarray(jax.jit(jax.vmap(fn))(keys), np.float64)


def test_iwae_one_averages_to_the_closed_form_elbo(model_and_params):
  """E[IWAE_1] = E_q[log p(x|z)] - KL in closed form, within the estimates' standard error."""
  model, params, x = model_and_params
  n = 20000
  keys = jax.random.split(jax.random.PRNGKey(4), n)
  iwae1 = _over_keys(lambda k: obj.iwae_bound(model, params, x, None, k, 1), keys)
  recon = _over_keys(lambda k: obj.elbo_terms(model, params, x, None, k)['recon'],
                     jax.random.split(jax.random.PRNGKey(5), n))
  kl = np.asarray(obj.elbo_terms(model, params, x, None, keys[0])['kl'])
  stderr = np.sqrt(iwae1.var(0) / n + recon.var(0) / n)
  assert np.all(np.abs(iwae1.mean(0) - (recon.mean(0) - kl)) < 4 * stderr)


def test_iwae_is_above_the_elbo_and_does_not_decrease_in_k(model_and_params):
  """Means over repeats; 'within noise' is 4 standard errors of the difference."""
  model, params, x = model_and_params
  n = 400
  keys = jax.random.split(jax.random.PRNGKey(6), n)
  elbo = _over_keys(lambda k: obj.elbo_terms(model, params, x, None, k)['elbo'], keys)
  bounds = [elbo] + [_over_keys(lambda key, k=k: obj.iwae_bound(model, params, x, None, key, k),
                                keys) for k in (1, 5, 50)]
  for lower, upper in zip(bounds, bounds[1:]):
    diff = upper - lower
    tolerance = 4 * diff.std(0) / np.sqrt(n)
    assert np.all(diff.mean(0) >= -tolerance), (diff.mean(0), tolerance)
  assert np.all(bounds[-1].mean(0) > elbo.mean(0))  # k=50 is strictly tighter here


def test_iwae_chunking_does_not_change_the_bound(model_and_params):
  model, params, x = model_and_params
  a = obj.log_importance_weights(model, params, x, None, jax.random.PRNGKey(6), 64, chunk=64)
  b = obj.iwae_bound(model, params, x, None, jax.random.PRNGKey(6), 64, chunk=64)
  np.testing.assert_allclose(jax.nn.logsumexp(a, 0) - np.log(64), b, rtol=1e-6)
  c = obj.iwae_bound(model, params, x, None, jax.random.PRNGKey(6), 50, chunk=16)
  assert c.shape == (6,) and np.all(np.isfinite(c))


def test_the_iwae_loss_is_minus_the_bound_and_its_gradient_weights_samples_by_softmax(
    model_and_params):
  """d/dθ log (1/k) Σ w_i = Σ softmax(log w)_i d/dθ log w_i (Burda et al., eq. 14), at the
  same samples: the reparameterised gradient the IWAE trains on."""
  model, params, x = model_and_params
  k, rng = 5, jax.random.PRNGKey(6)
  loss_fn = obj.training_loss(model, False, 'iwae', k)
  loss, aux = jax.jit(loss_fn)(params, {'image': x}, rng)
  bound = obj.iwae_bound(model, params, x, None, rng, k, chunk=k)
  np.testing.assert_allclose(loss, -np.mean(bound), rtol=1e-6)
  np.testing.assert_allclose(aux['iwae_5'], np.mean(bound), rtol=1e-6)

  grad = jax.jit(jax.grad(lambda p: loss_fn(p, {'image': x}, rng)[0]))(params)
  logw_of = lambda p: obj.log_importance_weights(model, p, x, None, rng, k, chunk=k)
  weights = jax.nn.softmax(logw_of(params), axis=0)  # [k, batch]
  jac = jax.jit(jax.jacrev(logw_of))(params)  # leaves [k, batch, *param]
  by_weights = jax.tree.map(
      lambda j: -jnp.einsum('kb,kb...->...', weights, j) / x.shape[0], jac)
  for got, want in zip(jax.tree.leaves(grad), jax.tree.leaves(by_weights)):
    np.testing.assert_allclose(got, want, rtol=2e-4, atol=1e-6)
  with pytest.raises(ValueError, match="'elbo' or 'iwae'"):
    obj.training_loss(model, False, 'wake_sleep', k)
