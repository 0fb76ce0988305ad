"""The likelihood of 8-bit images in bits/dim under a density, with uniform dequantisation:
Glow's objective, and the convention of every density of 8-bit images here (the Gaussian
mixture on pixels, the likelihood table).

An image x in {0, ..., 255}^D becomes y = (x + u) / 256 with u ~ U[0, 1)^D. For a density
p on [0, 1)^D scaled this way, E_u[-log p(y)] + D log 256 bounds -log P(x) (Theis et al.,
2016), and in bits per dimension

    bits/dim = (-log p(y) + D ln 256) / (D ln 2),

the formula of RealNVP (Dinh et al., 2017) and Glow (Kingma & Dhariwal, 2018). A model that
reads y - 1/2 (or any shift) has the same density; one that reads 2y - 1 adds D ln 2 to
-log p(y) (its Jacobian), which the model's own log-density accounts for, not this module.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp

from genjax.metrics.standard_error import standard_error

LEVELS = 256


def dequantize(x_uint8: jax.Array, u: jax.Array) -> jax.Array:
  """8-bit integers and uniform noise in [0, 1), both [B, ...] -> y in [0, 1)."""
  return (x_uint8.astype(jnp.float32) + u) / LEVELS


def bits_per_dim(log_p_y: jax.Array, num_dims: int) -> jax.Array:
  """Per-example log p(y) of the dequantised y -> bits/dim of the 8-bit data."""
  return (-log_p_y + num_dims * math.log(LEVELS)) / (num_dims * math.log(2.0))


def uniform_log_prob(y: jax.Array) -> jax.Array:
  """log of the uniform density on [0, 1)^D per example: 0 inside, -inf outside."""
  inside = jnp.all(((y >= 0) & (y < 1)).reshape(y.shape[0], -1), axis=-1)
  return jnp.where(inside, 0.0, -jnp.inf)


def per_example_terms(bits: jax.Array) -> dict[str, jax.Array]:
  """An eval_fn's per-example bits/dim and their squares, for `summary`'s standard error."""
  return {'bits_per_dim': bits, 'bits_per_dim_squared': jnp.square(bits)}


def summary(means: dict, num_examples: int) -> dict[str, float]:
  """Split means of `per_example_terms` -> bits/dim and its standard error over the
  examples; other means pass through."""
  out = {k: float(v) for k, v in means.items() if k != 'bits_per_dim_squared'}
  mean, square = float(means['bits_per_dim']), float(means['bits_per_dim_squared'])
  out['bits_per_dim_se'] = standard_error(mean, square, num_examples)
  return out
