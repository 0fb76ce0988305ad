"""Masked convolutions (van den Oord et al., 2016, PixelRNN/PixelCNN), and the per-pixel
form of them that cached sampling uses.

A k x k kernel is multiplied by a fixed spatial mask so that the output at pixel (r, c)
only sees rows above r, and in row r only columns left of c (type 'A', used by the first
layer) or up to and including c (type 'B', every later layer). Grayscale images have one
colour channel, so the mask is spatial only. Zero padding keeps the image size.

Cached sampling (Ramachandran et al., 2017, "Fast Generation for Convolutional
Autoregressive Models"): a causal convolution's output at one pixel reads its input at a
few earlier pixels only. A sampler keeps each conv's input in a zero-padded cache
(`TapConv.empty_input`), writes each new input pixel into it (`TapConv.store`) and
computes the output at one pixel (`TapConv.at`) with the kernel of the full pass.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from flax import linen as nn

from genjax.models import pixels


def causal_mask(kernel_size: int, mask_type: str) -> np.ndarray:
  """[k, k] 0/1 mask: 1 above the centre row, and left of (A) or up to (B) the centre."""
  if mask_type not in ('A', 'B'):
    raise ValueError(f"mask_type must be 'A' or 'B', got {mask_type!r}.")
  if kernel_size % 2 != 1:
    raise ValueError(f'Masked convolutions need an odd kernel size, got {kernel_size}.')
  c = kernel_size // 2
  mask = np.zeros((kernel_size, kernel_size), np.float32)
  mask[:c, :] = 1.0
  mask[c, :c + (mask_type == 'B')] = 1.0
  return mask


def mask_taps(kernel_size: int, mask_type: str) -> tuple[tuple[int, int], ...]:
  """(dy, dx) offsets of the unmasked kernel entries, relative to the centre."""
  c = kernel_size // 2
  mask = causal_mask(kernel_size, mask_type)
  return tuple((int(i) - c, int(j) - c) for i, j in zip(*np.nonzero(mask)))


class TapConv(nn.Module):
  """out[r, c] = b + sum_t x[r + dy_t, c + dx_t] @ W_t, zero outside the image.

  A convolution over an explicit set of kernel offsets ("taps"): masked entries are never
  computed, and it is one matrix product over the stacked shifted inputs. (XLA's CPU
  convolution is pathologically slow inside `lax.scan`, which both the training loop's
  fused steps and the samplers use; this form is fast there and on accelerators.)
  """
  features: int
  taps: tuple[tuple[int, int], ...]

  @property
  def padding(self) -> tuple[int, int, int, int]:
    """Zeros (up, down, left, right) the taps reach beyond the image."""
    dys, dxs = [t[0] for t in self.taps], [t[1] for t in self.taps]
    return max(0, -min(dys)), max(0, max(dys)), max(0, -min(dxs)), max(0, max(dxs))

  @nn.compact
  def __call__(self, x: jax.Array) -> jax.Array:
    up, down, left, right = self.padding
    h, w = x.shape[1:3]
    padded = jnp.pad(x, ((0, 0), (up, down), (left, right), (0, 0)))
    shifted = [padded[:, up + dy:up + dy + h, left + dx:left + dx + w] for dy, dx in self.taps]
    stacked = jnp.concatenate(shifted, axis=-1)  # [B, H, W, taps * C_in]
    kernel = self.param('kernel', nn.initializers.lecun_normal(),
                        (len(self.taps) * x.shape[-1], self.features))
    bias = self.param('bias', nn.initializers.zeros, (self.features,))
    return stacked @ kernel + bias

  def empty_input(self, batch_size: int, image_hw: tuple[int, int], channels: int):
    """An all-zero input [B, H, W, C] with this conv's zero padding around it."""
    up, down, left, right = self.padding
    h, w = image_hw
    return jnp.zeros((batch_size, up + h + down, left + w + right, channels))

  def store(self, padded: jax.Array, value: jax.Array, r, c) -> jax.Array:
    """`padded` with the input pixels (r, c .. c + width - 1) set to value [B, width, C]."""
    up, _, left, _ = self.padding
    return jax.lax.dynamic_update_slice(padded, value[:, None], (0, r + up, c + left, 0))

  def at(self, padded: jax.Array, r, c, width: int = 1) -> jax.Array:
    """Output [B, width, features] at pixels (r, c .. c + width - 1), as in the full pass.

    `padded` is the input as built by `empty_input` and `store`; only the pixels the taps
    reach are read (the caller makes sure they are final). Needs bound parameters.
    """
    up, down, left, right = self.padding
    window = jax.lax.dynamic_slice(
        padded, (0, r, c, 0),
        (padded.shape[0], up + down + 1, left + right + width, padded.shape[3]))
    stacked = jnp.concatenate(
        [window[:, up + dy, left + dx:left + dx + width] for dy, dx in self.taps], axis=-1)
    return stacked @ self.get_variable('params', 'kernel') + self.get_variable('params', 'bias')


class TapConvLayer(nn.Module):
  """A layer holding one TapConv (`self.conv`, taps from the subclass's `taps`).

  The TapConv keeps the name the earlier compact form of these layers gave it, so trained
  checkpoints keep loading; a sampler reaches its per-pixel methods through `conv`.
  """
  features: int

  @property
  def taps(self) -> tuple[tuple[int, int], ...]:
    raise NotImplementedError

  def setup(self):
    self.conv = TapConv(self.features, self.taps, name='TapConv_0')

  def __call__(self, x: jax.Array) -> jax.Array:
    return self.conv(x)


class MaskedConv2D(TapConvLayer):
  """A zero-padded k x k convolution masked by `causal_mask(kernel_size, mask_type)`."""
  kernel_size: int
  mask_type: str = 'B'

  @property
  def taps(self):
    return mask_taps(self.kernel_size, self.mask_type)


def previous_pixel(canvas: jax.Array, pos: jax.Array, features=pixels.centred):
  """Raster position pos - 1 as (row, col) and its conv input features [B, 1, F].

  `features` maps canvas values [B, 1] to the model's input features [B, F], as its full
  pass does. At pos 0 there is none: position 0 with zero features, harmless to store
  because it is overwritten at the next step before any conv reads it.
  """
  w = canvas.shape[2]
  prev = jnp.maximum(pos - 1, 0)
  r, c = prev // w, prev % w
  value = jnp.where(pos > 0, features(canvas[:, r, c]), 0.0)
  return r, c, value[:, None, :]
