"""Multi-scale residual vector quantisation: VAR's tokenizer (Tian et al., 2024).

One codebook serves every scale. For scales p_1 < ... < p_S = h (the latent side), in
order: area-downsample the residual to p_k x p_k, take each position's nearest code,
upsample the codes' vectors back to h x h (bicubic), pass them through a 3x3 conv phi_k
blended half and half with the identity, add the result to f_hat and subtract it from the
residual (the official `models/quant.py`, `VectorQuantizer2`). The tokens of an image are
the S code maps flattened scale after scale, sum_k p_k^2 of them.

Resampling is a fixed linear map per scale (`area_matrix`, `bicubic_matrix`, NumPy at
trace time), applied to both image axes by one einsum: exact, cheap at these sides, and
the same arithmetic when encoding and when rebuilding f_hat from tokens, so the two agree
bit for bit. `phi(h, k)` is the caller's (a flax method with its params).
"""

from __future__ import annotations

import math
from typing import Callable, NamedTuple, Sequence

import jax
import jax.numpy as jnp
import numpy as np

from genjax.models import quantizer

Phi = Callable[[jax.Array, int], jax.Array]
BICUBIC_A = -0.75  # PyTorch's F.interpolate(mode='bicubic'), which VAR uses


def check_scales(scales: Sequence[int], side: int) -> tuple[int, ...]:
  """The scale schedule as a tuple; ValueError naming the fix unless it rises to `side`."""
  scales = tuple(int(p) for p in scales)
  if (not scales or any(p < 1 for p in scales) or any(a >= b for a, b in
                                                       zip(scales, scales[1:]))
      or scales[-1] != side):
    raise ValueError(f'model.scales={scales} must rise strictly from 1 or more to the latent '
                     f'side {side}, e.g. {default_scales(side)}.')
  return scales


def default_scales(side: int) -> tuple[int, ...]:
  """A schedule in VAR's spirit for a side x side latent: small steps, then the side."""
  known = {2: (1, 2), 4: (1, 2, 4), 7: (1, 2, 3, 4, 5, 7), 8: (1, 2, 3, 4, 5, 6, 8),
           14: (1, 2, 3, 4, 6, 8, 10, 14),
           16: (1, 2, 3, 4, 5, 6, 8, 10, 13, 16)}  # 16: VAR's own (ImageNet 256, 16x down)
  return known.get(side, tuple(sorted({1, max(1, side // 2), side})))


def sequence_length(scales: Sequence[int]) -> int:
  return sum(p * p for p in scales)


def scale_slices(scales: Sequence[int]) -> list[slice]:
  """Where each scale's p_k^2 tokens sit in the flattened sequence."""
  ends = np.cumsum([p * p for p in scales])
  return [slice(int(e - p * p), int(e)) for p, e in zip(scales, ends)]


def area_matrix(side: int, p: int) -> np.ndarray:
  """[p, side]: adaptive average pooling (F.interpolate(mode='area')) along one axis."""
  m = np.zeros((p, side), np.float32)
  for i in range(p):
    start, end = (i * side) // p, -(-((i + 1) * side) // p)
    m[i, start:end] = 1.0 / (end - start)
  return m


def _cubic(t: np.ndarray, a: float) -> np.ndarray:
  t = np.abs(t)
  near = ((a + 2) * t - (a + 3)) * t * t + 1
  far = ((a * t - 5 * a) * t + 8 * a) * t - 4 * a
  return np.where(t <= 1, near, np.where(t < 2, far, 0.0))


def bicubic_matrix(p: int, side: int, a: float = BICUBIC_A) -> np.ndarray:
  """[side, p]: bicubic upsampling along one axis, half-pixel centres, edge taps clamped
  (PyTorch's align_corners=False)."""
  m = np.zeros((side, p), np.float64)
  for i in range(side):
    x = (i + 0.5) * p / side - 0.5
    base = math.floor(x)
    for tap in range(base - 1, base + 3):
      m[i, min(max(tap, 0), p - 1)] += _cubic(np.asarray(x - tap), a)
  return m.astype(np.float32)


def _resample(f: jax.Array, rows: np.ndarray) -> jax.Array:
  """f [B, H, W, D] -> [B, R, R, D] by the same [R, H] map on both axes, at full float32
  precision like the quantizer's distances: the residual it resamples is what the next
  scale's codes are chosen for."""
  r = jnp.asarray(rows, f.dtype)
  return jnp.einsum('ih,bhwd,jw->bijd', r, f, r, precision=jax.lax.Precision.HIGHEST)


def downsample(f: jax.Array, p: int) -> jax.Array:
  side = f.shape[1]
  return f if p == side else _resample(f, area_matrix(side, p))


def upsample(h: jax.Array, side: int) -> jax.Array:
  p = h.shape[1]
  return h if p == side else _resample(h, bicubic_matrix(p, side))


def scale_contribution(codes: jax.Array, codebook: jax.Array, side: int, k: int,
                       phi: Phi) -> jax.Array:
  """What scale k's code map [B, p, p] adds to f_hat: phi_k(up(e[codes])) [B, h, h, D]."""
  return phi(upsample(quantizer.lookup(codes, codebook), side), k)


class MultiScaleQuantized(NamedTuple):
  tokens: jax.Array  # int32 [B, L], the scales' code maps flattened in order
  f_hats: list  # the cumulative f_hat after each scale, [B, h, h, D] each; the last is f_hat
  inputs: jax.Array  # [B, L, D]: each token's (downsampled) residual, for the EMA update
  z_st: jax.Array  # f_hat forward, the straight-through gradient to the encoder output


def quantize(f: jax.Array, codebook: jax.Array, scales: Sequence[int],
             phi: Phi) -> MultiScaleQuantized:
  """Encoder outputs f [B, h, h, D] -> the multi-scale tokens and f_hat."""
  side = f.shape[1]
  rest = jax.lax.stop_gradient(f)
  f_hat = jnp.zeros_like(f)
  tokens, f_hats, inputs = [], [], []
  for k, p in enumerate(scales):
    small = downsample(rest, p)
    codes = quantizer.nearest_codes(small, jax.lax.stop_gradient(codebook))
    h = scale_contribution(codes, codebook, side, k, phi)
    f_hat = f_hat + h
    rest = rest - jax.lax.stop_gradient(h)
    b = f.shape[0]
    tokens.append(codes.reshape(b, -1))
    inputs.append(small.reshape(b, -1, f.shape[-1]))
    f_hats.append(f_hat)
  return MultiScaleQuantized(jnp.concatenate(tokens, axis=1), f_hats,
                             jnp.concatenate(inputs, axis=1),
                             quantizer.straight_through(f, f_hat))


def split_tokens(tokens: jax.Array, scales: Sequence[int]) -> list[jax.Array]:
  """int [B, L] -> the code maps [B, p_k, p_k]."""
  return [tokens[:, s].reshape(tokens.shape[0], p, p)
          for s, p in zip(scale_slices(scales), scales)]


def cumulative_f_hats(tokens: jax.Array, codebook: jax.Array, scales: Sequence[int],
                      phi: Phi) -> list[jax.Array]:
  """Tokens [B, L] -> f_hat after scales 1..k for each k, [B, h, h, D] each, summed in the
  order `quantize` sums them."""
  side = scales[-1]
  f_hat, out = 0.0, []
  for k, codes in enumerate(split_tokens(tokens, scales)):
    f_hat = f_hat + scale_contribution(codes, codebook, side, k, phi)
    out.append(f_hat)
  return out


def f_hat_from_tokens(tokens: jax.Array, codebook: jax.Array, scales: Sequence[int],
                      phi: Phi) -> jax.Array:
  """Tokens [B, L] -> f_hat [B, h, h, D]."""
  return cumulative_f_hats(tokens, codebook, scales, phi)[-1]


def next_scale_inputs(tokens: jax.Array, codebook: jax.Array, scales: Sequence[int],
                      phi: Phi) -> jax.Array:
  """Teacher forcing (VAR's `idxBl_to_var_input`): for scales 2..S, the cumulative f_hat of
  the scales before, area-downsampled to the scale's side; [B, L - 1, D].

  The input of scale k+1 is the cumulative f_hat, not scale k's map alone (VAR issue #126).
  """
  side = scales[-1]
  f_hat, out = 0.0, []
  maps = split_tokens(tokens, scales)
  for k in range(len(scales) - 1):
    f_hat = f_hat + scale_contribution(maps[k], codebook, side, k, phi)
    nxt = downsample(f_hat, scales[k + 1])
    out.append(nxt.reshape(nxt.shape[0], -1, nxt.shape[-1]))
  return jnp.concatenate(out, axis=1)


def vq_terms(f: jax.Array, f_hats: list, beta: float) -> tuple[jax.Array, jax.Array]:
  """(commitment, codebook term) per example [B], each averaged over the scales' cumulative
  f_hat as VAR does: beta ||f - sg[f_hat_k]||^2 moves the encoder; ||f_hat_k - sg[f]||^2
  moves phi (and the codebook when it is a parameter)."""
  sums = lambda x: jnp.sum(x.reshape(x.shape[0], -1), axis=-1)
  target = jax.lax.stop_gradient(f)
  commitment = sum(sums(jnp.square(f - jax.lax.stop_gradient(fh))) for fh in f_hats)
  codebook = sum(sums(jnp.square(fh - target)) for fh in f_hats)
  s = len(f_hats)
  return beta * commitment / s, codebook / s
