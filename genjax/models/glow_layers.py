"""Invertible layers of a Glow-style normalizing flow (Kingma & Dhariwal, 2018; Dinh et
al., 2016), on NHWC images. Each layer maps x -> (y, log|det dy/dx| per example) and,
with reverse=True, y -> (x, log|det dx/dy|), so the two log-determinants of a round trip
sum to zero.

- `ActNorm`: a per-channel affine map whose first call (flax `init`) sets it from the
  batch it sees, so that its output has zero mean and unit variance per channel.
- `InvConv1x1`: an invertible 1x1 convolution, LU-parameterised (W = P L (U + diag e^s)):
  its log-determinant is H W sum(s). P is the channel reversal and L, U start at the
  identity, so the layer starts as Glow's "reverse" permutation and learns from there.
- `AffineCoupling`: half the channels shift and scale the other half, with a bounded
  scale, so no unbounded exp can overflow. `scale='sigmoid'` is Glow's
  sigmoid(h + 2) (openai/glow's `model.py`), in (0, 1), its log by `log_sigmoid`: a
  coupling can only contract, so ActNorm and the 1x1 convolutions learn to expand, by a
  fixed factor that an image the couplings do not contract carries to its latents.
  `scale='tanh'` is log-scale tanh(h), a scale in (1/e, e) that contracts or expands (RealNVP's
  tanh-bounded scale). The network's last conv is zero-initialised, so every coupling
  starts near the identity (exactly, for tanh).
- `AdditiveCoupling`: the shift alone (NICE's coupling, Glow's `--flow_coupling 0`):
  volume-preserving, log-determinant 0.
- `squeeze` / `unsqueeze`: 2x2 spatial blocks to channels (a permutation: log-det 0).

`dtype` 'bfloat16' computes the couplings' networks in bfloat16, and only them: the flow
itself stays float32 (ActNorm, the 1x1 convolution, the couplings' shift and scale of x_b,
every log-determinant), so that log|det| is the determinant of the map actually applied.
The 1x1 convolution's W = P L U and its product with x run at full float32 precision
(`Precision.HIGHEST`), where an accelerator's default float32 product takes bfloat16 or
TF32 passes: its log-determinant H W sum(s) is then that of the W applied.
"""

from __future__ import annotations

import flax.linen as nn
import jax
import jax.numpy as jnp

from genjax.models.conv import Conv


def _per_example(x: jax.Array) -> jax.Array:
  return jnp.sum(x.reshape(x.shape[0], -1), axis=-1)


def squeeze(x: jax.Array) -> jax.Array:
  """[B, H, W, C] -> [B, H/2, W/2, 4C]."""
  b, h, w, c = x.shape
  x = x.reshape(b, h // 2, 2, w // 2, 2, c).transpose(0, 1, 3, 2, 4, 5)
  return x.reshape(b, h // 2, w // 2, 4 * c)


def unsqueeze(x: jax.Array) -> jax.Array:
  """[B, H, W, 4C] -> [B, 2H, 2W, C], the inverse of `squeeze`."""
  b, h, w, c4 = x.shape
  c = c4 // 4
  x = x.reshape(b, h, w, 2, 2, c).transpose(0, 1, 3, 2, 4, 5)
  return x.reshape(b, 2 * h, 2 * w, c)


class ActNorm(nn.Module):
  eps: float = 1e-6

  @nn.compact
  def __call__(self, x: jax.Array, reverse: bool = False):
    axes = tuple(range(x.ndim - 1))
    # Data-dependent init (Glow): only `init` evaluates these, on its batch.
    loc = self.param('loc', lambda rng: -jnp.mean(x, axis=axes))
    log_scale = self.param('log_scale',
                           lambda rng: -jnp.log(jnp.std(x, axis=axes) + self.eps))
    pixels = x[0, ..., 0].size
    logdet = pixels * jnp.sum(log_scale) * jnp.ones(x.shape[:1], x.dtype)
    if reverse:
      return x * jnp.exp(-log_scale) - loc, -logdet
    return (x + loc) * jnp.exp(log_scale), logdet


FULL_FLOAT32 = jax.lax.Precision.HIGHEST


class InvConv1x1(nn.Module):

  @nn.compact
  def __call__(self, x: jax.Array, reverse: bool = False):
    c = x.shape[-1]
    lower = self.param('lower', nn.initializers.zeros, (c, c))
    upper = self.param('upper', nn.initializers.zeros, (c, c))
    log_s = self.param('log_s', nn.initializers.zeros, (c,))
    eye = jnp.eye(c, dtype=x.dtype)
    l_unit = jnp.tril(lower, -1) + eye
    u_full = jnp.triu(upper, 1) + jnp.diag(jnp.exp(log_s))
    perm = eye[::-1]  # P: the channel reversal, fixed
    pixels = x[0, ..., 0].size
    logdet = pixels * jnp.sum(log_s) * jnp.ones(x.shape[:1], x.dtype)
    if reverse:
      # W^-1 = U^-1 L^-1 P^T by triangular solves, not a general inverse.
      l_inv = jax.scipy.linalg.solve_triangular(l_unit, eye, lower=True, unit_diagonal=True)
      w_inv = jnp.matmul(jax.scipy.linalg.solve_triangular(u_full, l_inv, lower=False),
                         perm.T, precision=FULL_FLOAT32)
      return jnp.einsum('...j,ij->...i', x, w_inv, precision=FULL_FLOAT32), -logdet
    w = jnp.matmul(jnp.matmul(perm, l_unit, precision=FULL_FLOAT32), u_full,
                   precision=FULL_FLOAT32)
    return jnp.einsum('...j,ij->...i', x, w, precision=FULL_FLOAT32), logdet


class CouplingNet(nn.Module):
  """x_a -> what the coupling applies to x_b: 3x3, ReLU, 1x1, ReLU, zero-init 3x3,
  computed in `dtype`, returned in float32."""
  hidden: int
  out_channels: int
  dtype: str = 'float32'

  @nn.compact
  def __call__(self, x: jax.Array):
    h = nn.relu(Conv(self.hidden, (3, 3))(x.astype(self.dtype)))  # convs: their input's dtype
    h = nn.relu(Conv(self.hidden, (1, 1))(h))
    return Conv(self.out_channels, (3, 3), kernel_init=nn.initializers.zeros,
                bias_init=nn.initializers.zeros, name='zero_init')(h).astype(jnp.float32)


SCALES = ('sigmoid', 'tanh')
COUPLINGS = ('affine', 'additive')


def coupling_log_scale(raw: jax.Array, scale: str) -> jax.Array:
  if scale == 'sigmoid':
    return jax.nn.log_sigmoid(raw + 2.0)
  if scale == 'tanh':
    return jnp.tanh(raw)
  raise ValueError(f'Unknown coupling scale {scale!r}; use one of {SCALES}.')


class AffineCoupling(nn.Module):
  hidden: int = 64
  scale: str = 'sigmoid'
  dtype: str = 'float32'  # the network's

  @nn.compact
  def __call__(self, x: jax.Array, reverse: bool = False):
    c = x.shape[-1]
    xa, xb = x[..., :c // 2], x[..., c // 2:]
    out = CouplingNet(self.hidden, 2 * (c - c // 2), self.dtype)(xa)
    shift, raw = out[..., 0::2], out[..., 1::2]  # openai/glow's interleaving
    log_scale = coupling_log_scale(raw, self.scale)
    logdet = _per_example(log_scale)
    if reverse:
      return jnp.concatenate([xa, xb * jnp.exp(-log_scale) - shift], axis=-1), -logdet
    return jnp.concatenate([xa, (xb + shift) * jnp.exp(log_scale)], axis=-1), logdet


class AdditiveCoupling(nn.Module):
  hidden: int = 64
  dtype: str = 'float32'  # the network's

  @nn.compact
  def __call__(self, x: jax.Array, reverse: bool = False):
    c = x.shape[-1]
    xa, xb = x[..., :c // 2], x[..., c // 2:]
    shift = CouplingNet(self.hidden, c - c // 2, self.dtype)(xa)
    logdet = jnp.zeros(x.shape[:1], x.dtype)
    return jnp.concatenate([xa, xb - shift if reverse else xb + shift], axis=-1), logdet


def make_coupling(coupling: str, hidden: int, scale: str, dtype: str = 'float32') -> nn.Module:
  """The coupling layer named `coupling` (one of COUPLINGS); `scale` bounds an affine one;
  `dtype` is its network's computation."""
  if coupling == 'affine':
    return AffineCoupling(hidden, scale, dtype)
  if coupling == 'additive':
    return AdditiveCoupling(hidden, dtype)
  raise ValueError(f'Unknown coupling {coupling!r}; use one of {COUPLINGS}.')


class GlowStep(nn.Module):
  """Glow's step of flow: ActNorm, invertible 1x1 convolution, affine or additive coupling."""
  hidden: int = 64
  scale: str = 'sigmoid'
  coupling: str = 'affine'
  dtype: str = 'float32'  # the coupling network's

  def setup(self):
    self.layers = [ActNorm(), InvConv1x1(),
                   make_coupling(self.coupling, self.hidden, self.scale, self.dtype)]

  def __call__(self, x: jax.Array, reverse: bool = False):
    total = jnp.zeros(x.shape[:1], x.dtype)
    for layer in (reversed(self.layers) if reverse else self.layers):
      x, logdet = layer(x, reverse)
      total = total + logdet
    return x, total
