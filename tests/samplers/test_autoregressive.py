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
