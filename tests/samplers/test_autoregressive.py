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


def fast_and_naive(model, shape, labels, seed):
  """Both samplers from the same key, after checking they drew the same images."""
  y = jnp.array(labels) if model.num_classes else None
  params = jax.jit(model.init)(jax.random.PRNGKey(0), jnp.zeros((1,) + shape),
                               None if y is None else y[:1])
  rng = jax.random.PRNGKey(seed)
  fast, fast_logp = samplers.sample(model, params, rng, shape, len(labels), y)
  naive, naive_logp = samplers.sample(model, params, rng, shape, len(labels), y, naive=True)
  np.testing.assert_array_equal(fast, naive)
  np.testing.assert_allclose(fast_logp, naive_logp, atol=1e-4)
  return params, y, fast, fast_logp


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


@pytest.mark.parametrize('name', ['pixelcnn', 'gated_pixelcnn_8bit_cond'])
def test_conv_caches_on_a_non_square_image(name):
  """Rows and columns kept apart: 5 x 7 images, fast == naive."""
  fast_and_naive(MODELS[name], (5, 7, 1), [2, 9], seed=3)


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
