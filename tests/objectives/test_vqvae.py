"""The VQ-VAE objective: which term moves what, the EMA state, and the likelihood bound."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from genjax.models import quantizer as vq
from genjax.models.vqvae import VQVAE
from genjax.objectives import vqvae as obj

K = 5
MODEL = VQVAE(image_shape=(8, 8, 1), channels=4, res_hidden=2, num_res_blocks=1,
              downsamples=2, code_dim=3)
RNG = jax.random.PRNGKey(0)


@pytest.fixture(scope='module')
def setup():
  """Net params, images on the 8-bit grid, and a codebook of encoder outputs, so that
  several codes are chosen."""
  rng = np.random.default_rng(0)
  x01 = rng.integers(0, 256, (3, 8, 8, 1)).astype(np.float32) / 255
  # Weights drawn here: compiling Flax's initialisers would take most of this file's time.
  shapes = jax.eval_shape(MODEL.init, jax.random.PRNGKey(1), x01[:1])
  net = jax.tree.map(lambda s: (rng.normal(size=s.shape) / math.sqrt(
      math.prod(s.shape[:-1]))).astype(np.float32), shapes)
  z = np.asarray(obj.VQObjective(MODEL, K).encode(net, x01)).reshape(-1, 3)
  codebook = z[np.linspace(0, len(z) - 1, K).astype(int)] + 0.01
  return net, x01, codebook


def test_codebook_loss_is_what_moves_a_codebook_parameter(setup):
  net, x01, codebook = setup
  objective = obj.VQObjective(MODEL, K, codebook='loss', beta=0.25)

  @jax.jit
  def run(net, codebook):
    loss = lambda c: objective.loss_and_state({'net': net, 'codebook': c}, None, x01, RNG)[:2]
    (_, aux), grad = jax.value_and_grad(loss, has_aux=True)(codebook)
    z = objective.encode(net, x01)
    return grad, aux, z, vq.nearest_codes(z, codebook)

  grad, aux, z, codes = jax.device_get(run(net, codebook))
  # Only the codebook term reaches the codes (recon goes straight through, commitment
  # stops at sg[e]): d/de_k mean_b sum_{i->k} ||z_i - e_k||^2 = (2/B) sum_{i->k} (e_k - z_i).
  one_hot = np.eye(K)[codes.reshape(-1)]
  expected = 2.0 / 3 * (one_hot.sum(0)[:, None] * codebook - one_hot.T @ z.reshape(-1, 3))
  assert len(set(codes.reshape(-1))) > 1
  np.testing.assert_allclose(grad, expected, rtol=1e-4, atol=1e-6)
  assert np.abs(grad).max() > 0
  sq = np.sum((z - codebook[codes]) ** 2, axis=(1, 2, 3))
  np.testing.assert_allclose(aux['codebook_loss'], sq.mean(), rtol=1e-5)
  np.testing.assert_allclose(aux['commitment'], 0.25 * sq.mean(), rtol=1e-5)
  np.testing.assert_allclose(aux['bits_per_dim'], aux['recon_nll'] / (64 * math.log(2)),
                             rtol=1e-6)


def test_ema_codebook_is_a_model_state_moved_by_the_ema_only(setup):
  net, x01, codebook = setup
  objective = obj.VQObjective(MODEL, K, codebook='ema', ema_decay=0.9)
  model_state = vq.ema_init(jnp.asarray(codebook))._asdict()

  @jax.jit
  def run(params, model_state):
    loss_of_state = lambda s: objective.loss_and_state(params, s, x01, RNG)[0]
    _, aux, new_state = objective.loss_and_state(params, model_state, x01, RNG)
    z = objective.encode(params['net'], x01)
    by_hand = vq.ema_update(vq.EMACodebook(**model_state), z,
                            vq.nearest_codes(z, model_state['codebook']), decay=0.9)
    return new_state, by_hand._asdict(), jax.grad(loss_of_state)(model_state), aux

  new_state, by_hand, state_grads, aux = jax.device_get(run({'net': net}, model_state))
  assert 'restarted_codes' not in aux and 'codebook_loss' not in aux
  for name in ('codebook', 'counts', 'sums'):
    np.testing.assert_allclose(new_state[name], by_hand[name], rtol=1e-6, atol=1e-7)
    np.testing.assert_array_equal(state_grads[name], 0.0)
  assert not np.allclose(new_state['codebook'], codebook)
  np.testing.assert_allclose(new_state['counts'].sum(), 0.9 * K + 0.1 * 12, rtol=1e-6)


def test_bound_adds_n_log_k_to_the_reconstruction(setup):
  net, x01, codebook = setup
  objective = obj.VQObjective(MODEL, K, codebook='ema')
  terms = jax.device_get(jax.jit(objective.eval_terms)(
      {'net': net}, {'codebook': codebook}, x01))
  n, d = 4, 64  # a 2x2 code grid over 8x8x1 pixels
  assert obj.uniform_code_nats(n, K) == n * math.log(K)
  np.testing.assert_allclose(terms['bound_bits_per_dim_uniform_prior']
                             - terms['recon_bits_per_dim'],
                             np.full(3, n * math.log(K) / (d * math.log(2))), atol=2e-5)
  np.testing.assert_allclose(terms['recon_bits_per_dim'],
                             terms['recon_nll'] / (d * math.log(2)), rtol=1e-6)
  np.testing.assert_array_equal(terms['code_counts'].sum(-1), n)


def test_summarise_codes_turns_counts_into_codebook_health():
  out = obj.summarise_codes({'code_counts': np.array([1.0, 1.0, 0.0, 2.0, 0.0]),
                             'recon_nll': jnp.asarray(2.5), 'commitment': np.float32(0.125)})
  assert set(out) == {'recon_nll', 'commitment', 'perplexity', 'codes_used'}
  assert all(type(v) is float for v in out.values())
  np.testing.assert_allclose(out['perplexity'], 2**1.5, rtol=1e-6)  # H = 1.5 bits
  assert out['codes_used'] == pytest.approx(0.6)
  assert (out['recon_nll'], out['commitment']) == (2.5, 0.125)
