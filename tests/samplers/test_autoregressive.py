"""Autoregressive samplers: fast == naive from the same key, and the sampler's per-step
conditionals sum to the log-probability of one parallel pass; completion keeps the top."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from genjax.models import pixels
from genjax.models.gated_pixelcnn import GatedPixelCNN
from genjax.models.lstm import PixelLSTM
from genjax.models.pixelcnn import PixelCNN
from genjax.models.transformer import PixelTransformer
from genjax.objectives import autoregressive as ar
from genjax.samplers import autoregressive as samplers
from tests.models.test_autoregressive import K, random_params, small

SHAPE = (8, 8, 1)

# Conv models with first kernels from 3 (smaller than the image) to 9 (larger), both
# likelihoods, with and without labels: caches must handle every border.
MODELS = {
    'pixelcnn': PixelCNN(channels=8, num_blocks=1, first_kernel=3, output_hidden=16),
    'pixelcnn_8bit_cond': PixelCNN(
        likelihood='categorical', channels=8, num_blocks=2, first_kernel=9, output_hidden=16,
        num_classes=10),
    'gated_pixelcnn': GatedPixelCNN(channels=8, num_layers=1, first_kernel=3,
                                    output_hidden=16),
    'gated_pixelcnn_8bit_cond': GatedPixelCNN(
        likelihood='categorical', channels=8, num_layers=2, first_kernel=9, output_hidden=16,
        num_classes=10),
    'lstm': PixelLSTM(hidden=16, num_layers=2, embed_dim=4),
    'transformer_8bit_cond': PixelTransformer(
        image_shape=SHAPE, likelihood='categorical', dim=16, num_heads=2, num_layers=2,
        positions='sinusoidal', num_classes=10),
}


# VQ-VAE code grids: K-way tokens, embedded by the conv models too. (The LSTM reads them as
# it reads pixels; tests/objectives checks its K-way head.)
CODE_SHAPE = (4, 5, 1)
CODE_MODELS = {
    'pixelcnn_codes': small('pixelcnn', 'codes', num_codes=K),
    'gated_pixelcnn_codes_cond': GatedPixelCNN(
        likelihood='codes', num_codes=K, channels=8, num_layers=1, first_kernel=5,
        output_hidden=16, num_classes=10),
    'transformer_codes': small('transformer', 'codes', num_codes=K, image_shape=CODE_SHAPE),
}


def fast_and_naive(model, shape, labels, seed, params=None):
  """Both samplers from the same key, after checking they drew the same images."""
  y = jnp.array(labels) if model.num_classes else None
  if params is None:
    params = jax.jit(model.init)(jax.random.PRNGKey(0), jnp.zeros((1,) + shape),
                                 None if y is None else y[:1])
  rng = jax.random.PRNGKey(seed)
  fast, fast_logp = samplers.sample(model, params, rng, shape, len(labels), y)
  naive, naive_logp = samplers.sample(model, params, rng, shape, len(labels), y, naive=True)
  np.testing.assert_array_equal(fast, naive)
  np.testing.assert_allclose(fast_logp, naive_logp, atol=1e-4)
  return params, y, fast, fast_logp


@pytest.mark.slow
@pytest.mark.parametrize('name', sorted(MODELS))
def test_fast_equals_naive_and_steps_sum_to_the_parallel_log_prob(name):
  model = MODELS[name]
  params, y, fast, fast_logp = fast_and_naive(model, SHAPE, [3, 8, 1], seed=42)
  assert fast_logp.shape == (3, 64)
  parallel = ar.log_prob(jax.jit(model.apply)(params, fast, y), fast, model.likelihood)
  np.testing.assert_allclose(fast_logp.sum(axis=1), parallel, rtol=1e-5, atol=1e-3)
  tokens = pixels.to_tokens(fast, model.likelihood)  # sampled values are exact levels
  np.testing.assert_array_equal(pixels.from_tokens(tokens, model.likelihood), fast)
  assert len(np.unique(np.asarray(fast))) > 1  # not a constant image


@pytest.mark.parametrize('name', sorted(CODE_MODELS))
def test_fast_equals_naive_on_codes_and_the_canvas_holds_exact_codes(name):
  model = CODE_MODELS[name]
  y = jnp.array([3, 8]) if model.num_classes else None
  params = random_params(model, CODE_SHAPE, None if y is None else y[:1])
  _, _, canvas, logp = fast_and_naive(model, CODE_SHAPE, [3, 8], seed=4, params=params)
  parallel = ar.log_prob(jax.jit(model.apply)(params, canvas, y), canvas, 'codes', K)
  np.testing.assert_allclose(logp.sum(axis=1), parallel, rtol=1e-5, atol=1e-3)
  codes = pixels.codes_from_canvas(canvas, K)
  np.testing.assert_array_equal(pixels.canvas_from_codes(codes, K), canvas)
  assert len(np.unique(codes)) > 2  # K-way draws, not a binary image


@pytest.mark.parametrize('name', ['pixelcnn', 'gated_pixelcnn_8bit_cond'])
def test_conv_caches_on_a_non_square_image(name):
  """Rows and columns kept apart: 5 x 7 images, fast == naive."""
  fast_and_naive(MODELS[name], (5, 7, 1), [2, 9], seed=3)


@pytest.mark.slow
def test_completion_keeps_the_top_half_and_samples_the_rest():
  model = MODELS['gated_pixelcnn']
  params = jax.jit(model.init)(jax.random.PRNGKey(0), jnp.zeros((1,) + SHAPE))
  images = (jax.random.uniform(jax.random.PRNGKey(5), (4,) + SHAPE) < 0.5).astype(jnp.float32)
  rng = jax.random.PRNGKey(7)
  done, logp = samplers.complete(model, params, rng, images, 4)
  np.testing.assert_array_equal(done[:, :4], images[:, :4])
  assert not np.array_equal(done[:, 4:], images[:, 4:])
  parallel = ar.log_prob(model.apply(params, done), done, model.likelihood)
  np.testing.assert_allclose(logp.sum(axis=1), parallel, rtol=1e-5, atol=1e-3)
  # The given half's conditionals are those of the given image's own parallel pass.
  given = ar.pixel_log_probs(model.apply(params, images), images, model.likelihood)
  np.testing.assert_allclose(logp[:, :32], given[:, :4].reshape(4, 32), atol=1e-4)


# Colour: R, G, B drawn in turn at each pixel (the mixture: a whole pixel a step), with the
# caches (or the recurrent state) the full pass is checked against.
RGB = (3, 4, 3)
COLOUR_MODELS = {
    'pixelcnn_rgb': small('pixelcnn', 'categorical', image_shape=RGB),
    'gated_pixelcnn_rgb_cond': small('gated_pixelcnn', 'categorical', num_classes=10,
                                     image_shape=RGB),
    'transformer_rgb': small('transformer', 'categorical', image_shape=RGB),
    'lstm_rgb': small('lstm', 'categorical', image_shape=RGB),
    'pixelcnn_mixture_rgb': small('pixelcnn', 'logistic_mixture', image_shape=RGB,
                                  num_mixtures=3),
    'gated_pixelcnn_mixture_rgb': small('gated_pixelcnn', 'logistic_mixture', image_shape=RGB,
                                        num_mixtures=3),
    'gated_pixelcnn_mixture_gray': small('gated_pixelcnn', 'logistic_mixture', num_mixtures=3,
                                         image_shape=(3, 4, 1)),
}


def _step_log_probs(model, logits, x):
  """The parallel pass's log p of each sampling step [B, steps]: per colour in raster
  order, or per whole pixel for the mixture."""
  b = x.shape[0]
  if model.likelihood == pixels.MIXTURE:
    return ar.pixel_log_probs(logits, x, model.likelihood).reshape(b, -1)
  per_colour = logits.reshape(x.shape + (-1,))  # [B, H, W, C, L]
  return ar.pixel_log_probs(per_colour, x[..., None], model.likelihood).reshape(b, -1)


@pytest.mark.slow
@pytest.mark.parametrize('name', sorted(COLOUR_MODELS))
def test_colour_fast_equals_naive_and_steps_are_the_parallel_conditionals(name):
  model = COLOUR_MODELS[name]
  shape = (3, 4, 1) if name.endswith('gray') else RGB
  y = jnp.array([3, 8]) if model.num_classes else None
  params = random_params(model, shape, None if y is None else y[:1])
  _, _, canvas, logp = fast_and_naive(model, shape, [3, 8], seed=5, params=params)
  steps = pixels.steps_per_pixel(model.likelihood, shape[2])
  assert logp.shape == (2, 12 * steps)
  logits = jax.jit(model.apply)(params, canvas, y)
  np.testing.assert_allclose(logp, _step_log_probs(model, logits, canvas), atol=2e-4)
  np.testing.assert_allclose(logp.sum(axis=1), ar.log_prob(logits, canvas, model.likelihood),
                             rtol=1e-5, atol=1e-3)
  levels = np.round(np.asarray(canvas) * 255)
  np.testing.assert_allclose(canvas, levels / 255, atol=1e-7)  # 8-bit values
  assert len(np.unique(levels)) > 4


def test_colour_decode_steps_on_a_given_image_are_the_full_pass_conditionals():
  """Every step given: the cached decoder's log p of each sub-pixel of a fixed image is the
  full pass's, for the colour PixelCNN and Gated PixelCNN (both tiers run this one)."""
  images = jax.random.randint(jax.random.PRNGKey(2), (2,) + RGB, 0, 256) / 255.0
  for name in ('pixelcnn_rgb', 'gated_pixelcnn_rgb_cond'):
    model = COLOUR_MODELS[name]
    y = jnp.array([1, 4]) if model.num_classes else None
    params = random_params(model, RGB, None if y is None else y[:1])
    canvas, logp = samplers.sample(model, params, jax.random.PRNGKey(0), RGB, 2, y, images,
                                   36)
    np.testing.assert_array_equal(canvas, images)
    np.testing.assert_allclose(logp, _step_log_probs(model, model.apply(params, images, y),
                                                     images), atol=2e-4)


def test_colour_completion_keeps_the_top_rows_in_every_colour():
  model = COLOUR_MODELS['gated_pixelcnn_mixture_rgb']
  params = random_params(model, RGB)
  images = jax.random.randint(jax.random.PRNGKey(5), (2,) + RGB, 0, 256) / 255.0
  done, logp = samplers.complete(model, params, jax.random.PRNGKey(7), images, 1)
  assert logp.shape == (2, 12)  # one step a pixel
  np.testing.assert_array_equal(done[:, :1], images[:, :1])
  assert not np.array_equal(done[:, 1:], images[:, 1:])
