"""DDPM objectives as math: the discretized decoder, Gaussian KL, and the bound's estimators."""

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import stats

from genjax.diffusion import schedules as sch
from genjax.objectives import diffusion as obj

CENTRES = jnp.arange(256, dtype=jnp.float32) * 2 / 255 - 1


def exact_denoiser(schedule, x0):
  """The network of a one-point data set: it returns the true noise of x_t."""
  return lambda xt, t: sch.predict_eps_from_x0(schedule, xt, t, jnp.broadcast_to(x0, xt.shape))


@pytest.mark.parametrize('mean,log_scale', [(0.0, -6.0), (0.31, -3.0), (-0.9, -1.0),
                                            (0.999, 0.5), (0.2, -9.0)])
def test_discretized_decoder_is_a_distribution_over_the_256_values(mean, log_scale):
  logp = obj.discretized_gaussian_log_likelihood(CENTRES, jnp.float32(mean),
                                                 jnp.float32(log_scale))
  np.testing.assert_allclose(jnp.sum(jnp.exp(logp)), 1.0, atol=2e-4)
  # an interior bin is the Gaussian mass of [x - 1/255, x + 1/255]
  k = 100
  sd = np.exp(log_scale)
  mass = stats.norm.cdf(CENTRES[k] + 1 / 255, mean, sd) - stats.norm.cdf(
      CENTRES[k] - 1 / 255, mean, sd)
  if mass > 1e-20:
    np.testing.assert_allclose(logp[k], np.log(mass), rtol=1e-3, atol=1e-4)


def test_discretized_decoder_concentrates_on_the_mean_bin():
  logp = obj.discretized_gaussian_log_likelihood(CENTRES[77], CENTRES[77], jnp.float32(-9.0))
  assert float(logp) > -1e-4


def test_normal_kl_matches_closed_form_and_is_zero_at_equality():
  m1, lv1, m2, lv2 = 0.3, np.log(0.5), -0.2, np.log(2.0)
  expected = np.log(np.sqrt(2.0) / np.sqrt(0.5)) + (0.5 + 0.25) / (2 * 2.0) - 0.5
  np.testing.assert_allclose(obj.normal_kl(m1, lv1, m2, lv2), expected, rtol=1e-6)
  np.testing.assert_allclose(obj.normal_kl(m1, lv1, m1, lv1), 0.0, atol=1e-7)


def test_data_scaling_puts_pixels_on_bin_centres():
  k = jnp.arange(256, dtype=jnp.float32)
  np.testing.assert_allclose(obj.to_model_space(k / 255), CENTRES, atol=1e-6)
  np.testing.assert_allclose(obj.to_unit_interval(CENTRES), k / 255, atol=1e-6)


def test_exact_denoiser_has_zero_loss_and_only_prior_and_decoder_in_the_bound():
  s = sch.make_schedule('linear', 100)
  x0 = CENTRES[jax.random.randint(jax.random.PRNGKey(0), (1, 4, 4, 1), 0, 256)]
  x0 = jnp.broadcast_to(x0, (3, 4, 4, 1))
  den = exact_denoiser(s, x0[:1])
  loss = obj.simple_loss_terms(den, s, x0, jax.random.PRNGKey(1))
  chex.assert_shape(loss, (3,))
  np.testing.assert_allclose(loss, 0.0, atol=1e-6)
  out = jax.jit(lambda r: obj.vb_bound(den, s, x0, r, 0, variance='fixedsmall'))(
      jax.random.PRNGKey(2))
  decoder = -obj.discretized_gaussian_log_likelihood(
      x0, x0, 0.5 * s.posterior_log_variance_clipped[0]).reshape(3, -1).sum(-1)
  expected = obj.prior_kl(s, x0) + decoder
  np.testing.assert_allclose(out['vb_nats'], expected, rtol=1e-3)
  np.testing.assert_allclose(out['bpd'], out['vb_nats'] / (16 * np.log(2)), rtol=1e-6)


@pytest.mark.parametrize('k', [1, 2, 7])
def test_timestep_sampled_bound_is_unbiased_for_the_full_sum(k):
  """k // 2 exact terms plus (T - k // 2) / (k - k // 2) times the sampled rest has the sum
  over all t as its mean; compared within sampling error."""
  s = sch.make_schedule('cosine', 20)
  n = 2048
  x0 = CENTRES[jax.random.randint(jax.random.PRNGKey(3), (n, 2, 2, 1), 0, 256)]
  den = lambda xt, t: 0.5 * xt  # any fixed network
  full = jax.jit(lambda r: obj.vb_bound(den, s, x0, r, 0)['vb_nats'])(jax.random.PRNGKey(4))
  mc = jax.jit(lambda r: obj.vb_bound(den, s, x0, r, k)['vb_nats'])(jax.random.PRNGKey(5))
  se = np.sqrt(np.var(full) / n + np.var(mc) / n)
  assert abs(float(full.mean() - mc.mean())) < 5 * se, (full.mean(), mc.mean(), se)
  assert float(mc.std()) > float(full.std())  # sampling t adds variance


@pytest.mark.parametrize('prediction', ['eps', 'x0', 'v'])
def test_loss_targets(prediction):
  s = sch.make_schedule('linear', 100)
  x0 = jnp.zeros((2, 3, 3, 1))
  loss = obj.simple_loss_terms(lambda xt, t: jnp.zeros_like(xt), s, x0, jax.random.PRNGKey(6),
                               prediction)
  # x0 = 0: the x0 target is 0; eps and v = sqrt(abar) eps have positive mean square
  assert np.all(np.isfinite(loss))
  assert (float(loss.max()) == 0.0) == (prediction == 'x0')
