"""Exact autoregressive likelihood: per-pixel terms as math, bits/dim, normalisation."""

import itertools
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from genjax.models import pixels
from genjax.objectives import autoregressive as ar
from tests.models.test_autoregressive import K, random_params, small


def test_bernoulli_terms_are_x_log_sigmoid_plus_complement():
  logits = jnp.array([[-3.0], [0.5], [30.0], [-30.0]])
  x = jnp.array([[1.0], [0.0], [1.0], [1.0]])
  p = 1 / (1 + np.exp(-np.asarray(logits[:, 0], np.float64)))
  expected = np.where(np.asarray(x[:, 0]) == 1, np.log(p), np.log1p(-p))
  np.testing.assert_allclose(ar.pixel_log_probs(logits, x, 'bernoulli'), expected, rtol=1e-5,
                             atol=1e-7)


def test_categorical_terms_pick_the_pixel_value_out_of_256():
  logits = jax.random.normal(jax.random.PRNGKey(0), (3, 256))
  values = jnp.array([0, 17, 255])
  x = (values / 255.0)[:, None]
  expected = jax.nn.log_softmax(logits)[jnp.arange(3), values]
  np.testing.assert_allclose(ar.pixel_log_probs(logits, x, 'categorical'), expected, rtol=1e-6)


def test_tokens_round_trip_8_bit_values():
  values = jnp.arange(256)
  np.testing.assert_array_equal(
      pixels.to_tokens(pixels.from_tokens(values, 'categorical'), 'categorical'), values)
  np.testing.assert_array_equal(pixels.to_tokens(jnp.array([[0.0], [1.0]]), 'bernoulli'), [0, 1])


@pytest.mark.parametrize('num_codes', [1, 512, 4096])
def test_codes_round_trip_through_the_float_canvas_exactly(num_codes):
  codes = jnp.arange(num_codes).reshape(1, 1, num_codes)
  canvas = pixels.canvas_from_codes(codes, num_codes)
  assert canvas.shape == (1, 1, num_codes, 1) and canvas.dtype == jnp.float32
  np.testing.assert_array_equal(pixels.codes_from_canvas(canvas, num_codes), codes)
  np.testing.assert_allclose(canvas[..., 0], codes / max(num_codes - 1, 1), rtol=1e-7)
  # Off the grid or out of [0, 1], as for pixels: the nearest code, clipped to [0, K).
  step = 1 / max(num_codes - 1, 1)
  off = jnp.array([[-0.5], [1.7], [0.49 * step], [1 - 0.49 * step]])
  np.testing.assert_array_equal(pixels.codes_from_canvas(off, num_codes),
                                [0, num_codes - 1, 0, num_codes - 1])


def test_codes_need_the_codebook_size_and_only_codes_take_it():
  assert pixels.num_levels('codes', 512) == pixels.num_outputs('codes', 512) == 512
  with pytest.raises(ValueError, match='num_codes > 0'):
    pixels.num_levels('codes')
  with pytest.raises(ValueError, match='num_codes=0'):
    pixels.num_outputs('bernoulli', 512)


@pytest.mark.parametrize('likelihood,bits', [('bernoulli', 1.0), ('categorical', 8.0),
                                             ('codes', math.log2(K))])
def test_uniform_model_has_log2_levels_bits_per_dim(likelihood, bits):
  num_codes = K if likelihood == 'codes' else 0
  x = jnp.zeros((2, 4, 5, 1))
  logits = jnp.zeros((2, 4, 5, pixels.num_outputs(likelihood, num_codes)))
  nll = -ar.log_prob(logits, x, likelihood, num_codes)
  np.testing.assert_allclose(nll, 20 * bits * math.log(2), rtol=1e-6)
  np.testing.assert_allclose(ar.bits_per_dim(nll, x.shape[1:]), bits, rtol=1e-6)


@pytest.mark.parametrize('arch', ['gated_pixelcnn', 'lstm'])
def test_probabilities_of_all_binary_2x3_images_sum_to_one(arch):
  """Exactness: sum_x p(x) = 1 over all 2^6 images, and the loss is the mean NLL."""
  model = small(arch)
  images = jnp.array(list(itertools.product([0.0, 1.0], repeat=6))).reshape(64, 2, 3, 1)
  params = jax.jit(model.init)(jax.random.PRNGKey(0), images[:1])
  terms = jax.jit(lambda p, x: ar.nll_terms(model, p, x, None))(params, images)
  np.testing.assert_allclose(jax.nn.logsumexp(-terms['nll']), 0.0, atol=1e-5)
  np.testing.assert_allclose(terms['bits_per_dim'], terms['nll'] / (6 * math.log(2)), rtol=1e-6)
  loss, aux = ar.nll_loss(model, conditional=False)(params, {'image': images}, None)
  np.testing.assert_allclose(loss, terms['nll'].mean(), rtol=1e-5)
  np.testing.assert_allclose(aux['bits_per_dim'], terms['bits_per_dim'].mean(), rtol=1e-5)


def test_code_nll_is_minus_the_log_softmax_at_the_true_codes():
  """nats per grid and bits per code, by hand from the logits; the loss reads the canvas."""
  shape = (4, 5, 1)
  model = small('lstm', 'codes', num_codes=K)
  params = random_params(model, shape)
  codes = jax.random.randint(jax.random.PRNGKey(3), (2, 4, 5), 0, K)
  canvas = pixels.canvas_from_codes(codes, K)
  loss_fn = ar.nll_loss(model, conditional=False)

  @jax.jit
  def terms_logits_loss(params, canvas):
    return (ar.nll_terms(model, params, canvas, None), model.apply(params, canvas),
            loss_fn(params, {'image': canvas}, None)[0])

  terms, logits, loss = terms_logits_loss(params, canvas)
  assert logits.shape == (2, 4, 5, K)
  logits = np.asarray(logits, np.float64)
  log_softmax = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
  nll = -np.take_along_axis(log_softmax, np.asarray(codes)[..., None], -1).sum(axis=(1, 2, 3))
  np.testing.assert_allclose(terms['nll'], nll, rtol=1e-5)
  np.testing.assert_allclose(terms['bits_per_dim'], nll / (20 * math.log(2)), rtol=1e-5)
  np.testing.assert_allclose(loss, nll.mean(), rtol=1e-5)
