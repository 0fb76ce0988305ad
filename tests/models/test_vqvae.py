"""The VQ-VAE network's code groups: G codes a position laid out along the width of one
[h, w * G] grid, read back by the decoder as the encoder wrote them; and the bound counts
every one of the h * w * G codes."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from genjax.models.vqvae import VQVAE
from genjax.objectives import vqvae as obj
from tests.numpy_init import numpy_variables

G, D, K = 10, 3, 7
MODEL = VQVAE(image_shape=(8, 8, 3), channels=8, res_hidden=4, num_res_blocks=1,
              downsamples=2, code_dim=D, code_groups=G)


@pytest.fixture(scope='module')
def net():
  return numpy_variables(MODEL, jnp.zeros((1, 8, 8, 3)), scale=0.3)


def _x(seed=0):
  return jnp.asarray(np.random.default_rng(seed).uniform(-1, 1, (2, 8, 8, 3)), jnp.float32)


def test_each_position_holds_g_codes_side_by_side(net):
  assert MODEL.code_shape == (2, 2 * G)
  z = MODEL.apply(net, _x(), method=VQVAE.encode)
  raw = MODEL.apply(net, _x(), method=lambda m, x: m.encoder(x))  # [B, 2, 2, G D]
  assert z.shape == (2, 2, 2 * G, D) and raw.shape == (2, 2, 2, G * D)
  i, j, g = 1, 1, 4  # position (i, j)'s code g sits at column j G + g
  np.testing.assert_array_equal(z[:, i, j * G + g], raw[:, i, j, g * D:(g + 1) * D])


def test_the_decoder_reads_the_groups_back_as_the_encoder_wrote_them(net):
  z = MODEL.apply(net, _x(), method=VQVAE.encode)
  raw = MODEL.apply(net, _x(), method=lambda m, x: m.encoder(x))
  mean, log_scale = MODEL.apply(net, z, method=VQVAE.decode)
  direct = MODEL.apply(net, raw, method=lambda m, r: m.decoder(r))
  np.testing.assert_array_equal(mean, direct[..., :3])
  np.testing.assert_array_equal(log_scale, direct[..., 3:])
  assert mean.shape == (2, 8, 8, 3)


def test_the_uniform_prior_bound_counts_all_h_w_g_codes(net):
  objective = obj.VQObjective(MODEL, K, codebook='ema')
  codebook = jnp.asarray(np.random.default_rng(1).normal(size=(K, D)), jnp.float32)
  x01 = (_x(2) + 1) / 2
  terms = jax.jit(objective.eval_terms)({'net': net}, {'codebook': codebook}, x01)
  n = 2 * 2 * G
  np.testing.assert_allclose(terms['bound_bits_per_dim_uniform_prior']
                             - terms['recon_bits_per_dim'],
                             np.full(2, n * math.log(K) / (8 * 8 * 3 * math.log(2))),
                             atol=2e-5)
  assert objective.codes({'net': net}, {'codebook': codebook}, x01).shape == (2, 2, 2 * G)


def test_multi_scale_tokens_refuse_groups():
  model = VQVAE(image_shape=(8, 8, 3), channels=8, res_hidden=4, code_dim=D, code_groups=2,
                scales=(1, 2))
  with pytest.raises(ValueError, match='code_groups=1'):
    jax.eval_shape(lambda: model.init(jax.random.PRNGKey(0), jnp.zeros((1, 8, 8, 3))))
