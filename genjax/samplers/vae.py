"""Ways to look at a trained VAE: prior samples, latent interpolation and the latent manifold."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import jax.scipy.stats as jstats

from genjax.models.vae import VAE, decoder_mean  # noqa: F401  (re-exported)


def sample_prior(model: VAE, params, rng: jax.Array, num: int,
                 y: jax.Array | None = None) -> jax.Array:
  """Decoder means at z ~ N(0, I): [num, H, W, C] in [0, 1]."""
  z = jax.random.normal(rng, (num, model.latent_dim))
  return decoder_mean(model.apply(params, z, y, method=VAE.decode))


def interpolate(model: VAE, params, x_a: jax.Array, x_b: jax.Array, num_steps: int,
                y: jax.Array | None = None) -> jax.Array:
  """Decoder means along the straight line between the posterior means of x_a and x_b."""
  ends = model.apply(params, jnp.stack([x_a, x_b]),
                     None if y is None else jnp.stack([y, y]), method=VAE.encode).mean
  t = jnp.linspace(0.0, 1.0, num_steps)[:, None]
  z = (1 - t) * ends[0] + t * ends[1]
  y_rep = None if y is None else jnp.full((num_steps,), y)
  return decoder_mean(model.apply(params, z, y_rep, method=VAE.decode))


def latent_manifold(model: VAE, params, grid_size: int) -> jax.Array:
  """Kingma & Welling Fig. 4: the unit square mapped through the inverse Gaussian CDF.

  Returns decoder means [grid_size, grid_size, H, W, C]; row 0 is the top of the figure
  (largest z_2). Needs latent_dim == 2.
  """
  if model.latent_dim != 2:
    raise ValueError(f'The latent manifold needs latent_dim=2, got {model.latent_dim}.')
  # Cell centres, so the CDF never reaches 0 or 1.
  u = (jnp.arange(grid_size) + 0.5) / grid_size
  coords = jstats.norm.ppf(u)
  z1, z2 = jnp.meshgrid(coords, coords[::-1])
  z = jnp.stack([z1.ravel(), z2.ravel()], axis=-1)
  images = decoder_mean(model.apply(params, z, method=VAE.decode))
  return images.reshape((grid_size, grid_size) + images.shape[1:])
