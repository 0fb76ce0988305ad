"""Masked convolutions (van den Oord et al., 2016, PixelRNN/PixelCNN), and the per-pixel
form of them that cached sampling uses.

A k x k kernel is multiplied by a fixed spatial mask so that the output at pixel (r, c)
only sees rows above r, and in row r only columns left of c (type 'A', used by the first
layer) or up to and including c (type 'B', every later layer). Grayscale images have one
colour channel, so the mask is spatial only. A colour image's convs take the centre tap in
both types, masked over channels by colour group (`colour_masks`: type A or B there).
Zero padding keeps the image size.

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

from genjax.models import colour_masks, pixels


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

  With colours > 1 the centre tap's weights are masked by colour group, by rule
  `centre_mask` ('A' or 'B'), with `in_blocks`/`out_blocks` as in `colour_masks`.
  It computes in its input's dtype (bfloat16 inputs: a bfloat16 product), as
  `genjax.models.conv.Conv` does; the parameters are float32.
  """
  features: int
  taps: tuple[tuple[int, int], ...]
  colours: int = 1
  centre_mask: str = 'B'
  in_blocks: int = 1
  out_blocks: int = 1

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
    return stacked @ self._masked(kernel).astype(x.dtype) + bias.astype(x.dtype)

  def _masked(self, kernel: jax.Array) -> jax.Array:
    """The kernel with the centre tap's colour mask applied (unchanged for one colour)."""
    if self.colours == 1 or (0, 0) not in self.taps:
      return kernel
    c_in = kernel.shape[0] // len(self.taps)
    mask = np.ones(kernel.shape, np.float32)
    t = self.taps.index((0, 0))
    mask[t * c_in:(t + 1) * c_in] = colour_masks.channel_mask(
        colour_masks.colour_groups(c_in, self.colours, self.in_blocks),
        colour_masks.colour_groups(self.features, self.colours, self.out_blocks),
        self.centre_mask)
    return kernel * jnp.asarray(mask)

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
    kernel = self._masked(self.get_variable('params', 'kernel')).astype(padded.dtype)
    return stacked @ kernel + self.get_variable('params', 'bias').astype(padded.dtype)


class TapConvLayer(nn.Module):
  """A layer holding one TapConv (`self.conv`, taps from the subclass's `taps`).

  The TapConv keeps the name the earlier compact form of these layers gave it, so trained
  checkpoints keep loading; a sampler reaches its per-pixel methods through `conv`.
  `colours`, `centre_mask`, `in_blocks`, `out_blocks`: the TapConv's colour masking.
  """
  features: int

  @property
  def taps(self) -> tuple[tuple[int, int], ...]:
    raise NotImplementedError

  @property
  def colour_masking(self) -> dict:
    return {}

  def setup(self):
    self.conv = TapConv(self.features, self.taps, **self.colour_masking, name='TapConv_0')

  def __call__(self, x: jax.Array) -> jax.Array:
    return self.conv(x)


class MaskedConv2D(TapConvLayer):
  """A zero-padded k x k convolution masked by `causal_mask(kernel_size, mask_type)`.

  With colours > 1 (PixelRNN sec. 3.4) the centre tap is kept in both types and masked by
  colour group instead: type A lets group k read input groups < k there, type B <= k.
  """
  kernel_size: int
  mask_type: str = 'B'
  colours: int = 1

  @property
  def taps(self):
    return mask_taps(self.kernel_size, 'B' if self.colours > 1 else self.mask_type)

  @property
  def colour_masking(self) -> dict:
    return dict(colours=self.colours, centre_mask=self.mask_type)


def pixel_features(canvas: jax.Array, p: jax.Array, features=pixels.centred):
  """Raster pixel p as (row, col) and its conv input features [B, 1, F], all colours;
  zero features at p < 0 (stored at pixel 0, which is overwritten before it is read)."""
  w = canvas.shape[2]
  q = jnp.maximum(p, 0)
  r, c = q // w, q % w
  value = jnp.where(p >= 0, features(canvas[:, r, c]), 0.0)
  return r, c, value[:, None, :]


def previous_pixel(canvas: jax.Array, pos: jax.Array, features=pixels.centred):
  """Raster position pos - 1 as (row, col) and its conv input features [B, 1, F].

  `features` maps canvas values [B, 1] to the model's input features [B, F], as its full
  pass does. At pos 0 there is none: position 0 with zero features, harmless to store
  because it is overwritten at the next step before any conv reads it.
  """
  return pixel_features(canvas, pos - 1, features)
