"""Pixels or codes as autoregressive tokens: binary ({0, 1}, Bernoulli head), 8-bit
(256-way softmax) or K discrete VQ-VAE codes (K-way softmax, K = num_codes).

Images arrive as float32 [B, H, W, 1] in [0, 1]: {0, 1} when binarised, k/255 for 8-bit
grayscale. A grid of codes is held the same way, code k as k/(K-1), so the samplers write
every kind of token into one float canvas (`canvas_from_codes`, `codes_from_canvas`).
Every autoregressive model emits per-position logits [B, H, W, num_outputs]; these helpers
convert between the float canvas, integer tokens and the head's output width.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

LIKELIHOODS = ('bernoulli', 'categorical', 'codes')


def check_likelihood(likelihood: str, num_codes: int = 0) -> None:
  if likelihood not in LIKELIHOODS:
    raise ValueError(f"Unknown likelihood '{likelihood}'; use one of {LIKELIHOODS}.")
  if likelihood == 'codes' and num_codes <= 0:
    raise ValueError(f"likelihood='codes' needs the codebook size: pass num_codes > 0 "
                     f"(got {num_codes}).")
  if likelihood != 'codes' and num_codes:
    raise ValueError(f"num_codes={num_codes} is for likelihood='codes' only; pass "
                     f"num_codes=0 with likelihood='{likelihood}'.")


def num_levels(likelihood: str, num_codes: int = 0) -> int:
  """How many values one token takes: 2 (binary), 256 (8-bit) or num_codes."""
  check_likelihood(likelihood, num_codes)
  return {'bernoulli': 2, 'categorical': 256}.get(likelihood, num_codes)


def num_outputs(likelihood: str, num_codes: int = 0) -> int:
  """Logits per position: 1 for a Bernoulli head, else one per level (softmax)."""
  levels = num_levels(likelihood, num_codes)
  return 1 if likelihood == 'bernoulli' else levels


def to_tokens(x: jax.Array, likelihood: str, num_codes: int = 0) -> jax.Array:
  """Float canvas [..., 1] in [0, 1] -> int32 tokens [...] in [0, num_levels), clipped."""
  levels = num_levels(likelihood, num_codes)
  return jnp.clip(jnp.round(x[..., 0] * (levels - 1)), 0, levels - 1).astype(jnp.int32)


def from_tokens(tokens: jax.Array, likelihood: str, num_codes: int = 0) -> jax.Array:
  """Int tokens [...] -> float canvas [..., 1] in [0, 1]."""
  # max: a one-code book stores its code as 0 instead of 0/0.
  top = max(num_levels(likelihood, num_codes) - 1, 1)
  return (tokens.astype(jnp.float32) / top)[..., None]


def canvas_from_codes(codes: jax.Array, num_codes: int) -> jax.Array:
  """VQ-VAE codes int [B, H, W] -> the float canvas [B, H, W, 1] the models read."""
  return from_tokens(codes, 'codes', num_codes)


def codes_from_canvas(canvas: jax.Array, num_codes: int) -> jax.Array:
  """The float canvas [B, H, W, 1] -> int32 codes [B, H, W], exact for num_codes <= 4096."""
  return to_tokens(canvas, 'codes', num_codes)


def centred(x: jax.Array) -> jax.Array:
  """Float pixels in [0, 1] -> [-1, 1], the conv models' input features for pixels."""
  return 2.0 * x - 1.0
