"""Pixels as autoregressive tokens: binary ({0, 1}, Bernoulli head) or 8-bit (256-way softmax).

Images arrive as float32 [B, H, W, 1] in [0, 1]: {0, 1} when binarised, k/255 for 8-bit
grayscale. Every autoregressive model emits per-pixel logits [B, H, W, num_outputs]; these
helpers convert between the float pixels, integer tokens and the head's output width.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

LIKELIHOODS = ('bernoulli', 'categorical')


def check_likelihood(likelihood: str) -> None:
  if likelihood not in LIKELIHOODS:
    raise ValueError(f"Unknown likelihood '{likelihood}'; use one of {LIKELIHOODS}.")


def num_levels(likelihood: str) -> int:
  """How many values one pixel takes: 2 (binary) or 256 (8-bit)."""
  check_likelihood(likelihood)
  return 2 if likelihood == 'bernoulli' else 256


def num_outputs(likelihood: str) -> int:
  """Logits per pixel: 1 for a Bernoulli head, 256 for the softmax head."""
  check_likelihood(likelihood)
  return 1 if likelihood == 'bernoulli' else 256


def to_tokens(x: jax.Array, likelihood: str) -> jax.Array:
  """Float pixels [..., 1] in [0, 1] -> int32 tokens [...] in [0, num_levels)."""
  levels = num_levels(likelihood)
  return jnp.clip(jnp.round(x[..., 0] * (levels - 1)), 0, levels - 1).astype(jnp.int32)


def from_tokens(tokens: jax.Array, likelihood: str) -> jax.Array:
  """Int tokens [...] -> float pixels [..., 1] in [0, 1]."""
  return (tokens.astype(jnp.float32) / (num_levels(likelihood) - 1))[..., None]


def centred(x: jax.Array) -> jax.Array:
  """Float pixels in [0, 1] -> [-1, 1], the conv models' input features."""
  return 2.0 * x - 1.0
