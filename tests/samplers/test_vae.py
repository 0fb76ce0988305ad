"""VAE samplers: the manifold grid's coordinates, interpolation end points, prior samples."""

import chex
import jax
import jax.numpy as jnp
import numpy as np
from scipy import stats

from genjax.models.vae import VAE, decoder_mean
from genjax.samplers import vae as samplers

MODEL = VAE(image_shape=(8, 8, 1), latent_dim=2, hidden=(8,))
PARAMS = MODEL.init(jax.random.PRNGKey(0), jnp.zeros((1, 8, 8, 1)))


def test_manifold_decodes_the_inverse_cdf_grid():
  grid = samplers.latent_manifold(MODEL, PARAMS, grid_size=5)
  chex.assert_shape(grid, (5, 5, 8, 8, 1))
  coords = stats.norm.ppf((np.arange(5) + 0.5) / 5)
  # Top-left cell: smallest z1, largest z2.
  expected = decoder_mean(MODEL.apply(PARAMS, jnp.array([[coords[0], coords[-1]]]),
                                      method=VAE.decode))[0]
  np.testing.assert_allclose(grid[0, 0], expected, rtol=1e-5)


def test_interpolation_starts_and_ends_at_the_posterior_means():
  xa, xb = jnp.zeros((8, 8, 1)), jnp.ones((8, 8, 1))
  path = samplers.interpolate(MODEL, PARAMS, xa, xb, num_steps=4)
  chex.assert_shape(path, (4, 8, 8, 1))
  means = MODEL.apply(PARAMS, jnp.stack([xa, xb]), method=VAE.encode).mean
  ends = decoder_mean(MODEL.apply(PARAMS, means, method=VAE.decode))
  np.testing.assert_allclose(path[0], ends[0], rtol=1e-5)
  np.testing.assert_allclose(path[-1], ends[1], rtol=1e-5)


def test_prior_samples_are_probabilities():
  s = samplers.sample_prior(MODEL, PARAMS, jax.random.PRNGKey(1), 6)
  chex.assert_shape(s, (6, 8, 8, 1))
  assert float(s.min()) >= 0.0 and float(s.max()) <= 1.0
