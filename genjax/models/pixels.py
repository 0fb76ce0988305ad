"""Pixels or codes as autoregressive tokens: binary ({0, 1}, Bernoulli head), 8-bit
(256-way softmax) or K discrete VQ-VAE codes (K-way softmax, K = num_codes); or 8-bit
pixels under a discretised logistic mixture over whole pixels (PixelCNN++, Salimans et
al., 2017).

Images arrive as float32 [B, H, W, C] in [0, 1]: {0, 1} when binarised, k/255 for 8-bit;
C = 1 (grayscale) or 3 (RGB). A grid of codes is held as a one-channel image, code k as
k/(K-1), so the samplers write every kind of token into one float canvas
(`canvas_from_codes`, `codes_from_canvas`).

A colour image is a sequence of sub-pixels, R before G before B within a pixel (van den
Oord et al., 2016, PixelRNN sec. 3.4): a per-token head emits [B, H, W, C * num_outputs],
colour k's logits at [k * num_outputs, (k + 1) * num_outputs), and a sampler takes C steps
a pixel (`steps_per_pixel`). The mixture instead emits one pixel's joint distribution
[B, H, W, mixture_params(C, M)] and a sampler draws a whole pixel a step.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

LIKELIHOODS = ('bernoulli', 'categorical', 'codes', 'logistic_mixture')
MIXTURE = 'logistic_mixture'


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
  return {'bernoulli': 2, 'categorical': 256, MIXTURE: 256}.get(likelihood, num_codes)


def num_outputs(likelihood: str, num_codes: int = 0) -> int:
  """Logits per token: 1 for a Bernoulli head, else one per level (softmax)."""
  if likelihood == MIXTURE:
    raise ValueError('A logistic mixture has no per-token logits; use head_width.')
  levels = num_levels(likelihood, num_codes)
  return 1 if likelihood == 'bernoulli' else levels


def mixture_params(channels: int, num_mixtures: int) -> int:
  """Outputs per pixel of a discretised logistic mixture (Salimans et al., 2017, sec. 2.2):
  per component a logit, a mean and a log-scale per colour, and one coefficient per pair
  of colours (G on R; B on R and G): 10 M for RGB, 3 M for grayscale."""
  return num_mixtures * (1 + 2 * channels + channels * (channels - 1) // 2)


def steps_per_pixel(likelihood: str, channels: int) -> int:
  """Sampling steps a pixel takes: one per colour for per-token heads, one for the
  mixture's whole pixels. It is also the number of colour groups a conv model masks."""
  return 1 if likelihood == MIXTURE else channels


def head_width(likelihood: str, num_codes: int = 0, channels: int = 1,
               num_mixtures: int = 0) -> int:
  """A model's outputs per pixel: C * num_outputs, or the mixture's parameters."""
  check_likelihood(likelihood, num_codes)
  if likelihood == 'codes' and channels != 1:
    raise ValueError(f'A grid of codes has one channel, not {channels}.')
  if likelihood == MIXTURE:
    if num_mixtures <= 0:
      raise ValueError(f"likelihood='{MIXTURE}' needs num_mixtures > 0 (got "
                       f'{num_mixtures}).')
    return mixture_params(channels, num_mixtures)
  return channels * num_outputs(likelihood, num_codes)


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
