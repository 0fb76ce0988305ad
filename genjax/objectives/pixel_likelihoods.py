"""Discrete likelihoods of 8-bit pixels from a continuous decoder: log P(x) per pixel.

Pixels x live on the 256 bin centres 2k/255 - 1 in [-1, 1]; bin k is [x - 1/255, x + 1/255],
the first reaching to -inf and the last to +inf, so the 256 probabilities sum to one and
-sum log P is a proper discrete negative log-likelihood: bits/dim that stand in one table
with an autoregressive model's, the DDPM bound's and Glow's.

- 'discretized_logistic': PixelCNN++ (Salimans et al., 2017), one logistic per pixel.
- 'discretized_gaussian': the DDPM decoder's (Ho et al., 2020), shared with its bound.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from genjax.objectives.diffusion import discretized_gaussian_log_likelihood

DISCRETE_LIKELIHOODS = ('discretized_logistic', 'discretized_gaussian')
MIN_LOG_SCALE = -7.0  # PixelCNN++'s floor: bins are 2/255 wide, narrower scales buy nothing


def discretized_logistic_log_likelihood(x: jax.Array, mean: jax.Array,
                                        log_scale: jax.Array) -> jax.Array:
  """log P(bin of x) under Logistic(mean, exp(log_scale)), elementwise.

  log(sigmoid(a) - sigmoid(b)) is computed as log(-expm1(b - a)) - softplus(-a) -
  softplus(b), exact for a > b and free of the cancellation of the plain difference.
  """
  inv = jnp.exp(-log_scale)
  a = (x - mean + 1.0 / 255) * inv
  b = (x - mean - 1.0 / 255) * inv
  log_cdf_a = -jax.nn.softplus(-a)  # log sigmoid(a): the first bin, from -inf
  log_sf_b = -jax.nn.softplus(b)  # log (1 - sigmoid(b)): the last bin, to +inf
  log_mid = jnp.log(-jnp.expm1(jnp.minimum(b - a, -1e-12))) - jax.nn.softplus(-a) \
      - jax.nn.softplus(b)
  return jnp.where(x < -0.999, log_cdf_a, jnp.where(x > 0.999, log_sf_b, log_mid))


def log_likelihood(name: str, x: jax.Array, mean: jax.Array, log_scale: jax.Array) -> jax.Array:
  """log P(x) per pixel under the discrete likelihood `name`; x on the 2k/255 - 1 centres."""
  log_scale = jnp.maximum(log_scale, MIN_LOG_SCALE)
  if name == 'discretized_logistic':
    return discretized_logistic_log_likelihood(x, mean, log_scale)
  if name == 'discretized_gaussian':
    return discretized_gaussian_log_likelihood(x, mean, log_scale)
  raise ValueError(f"Unknown pixel likelihood '{name}'; use one of {DISCRETE_LIKELIHOODS}.")


def to_centres(images01: jax.Array) -> jax.Array:
  """8-bit images as k/255 in [0, 1] -> the bin centres 2k/255 - 1."""
  return 2.0 * images01 - 1.0
