"""Masked convolutions (van den Oord et al., 2016, PixelRNN/PixelCNN).

A k x k kernel is multiplied by a fixed spatial mask so that the output at pixel (r, c)
only sees rows above r, and in row r only columns left of c (type 'A', used by the first
layer) or up to and including c (type 'B', every later layer). Grayscale images have one
colour channel, so the mask is spatial only. Zero padding keeps the image size.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from flax import linen as nn


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

  @nn.compact
  def __call__(self, x: jax.Array) -> jax.Array:
    dys, dxs = [t[0] for t in self.taps], [t[1] for t in self.taps]
    up, down = max(0, -min(dys)), max(0, max(dys))
    left, right = max(0, -min(dxs)), max(0, max(dxs))
    h, w = x.shape[1:3]
    padded = jnp.pad(x, ((0, 0), (up, down), (left, right), (0, 0)))
    shifted = [padded[:, up + dy:up + dy + h, left + dx:left + dx + w] for dy, dx in self.taps]
    stacked = jnp.concatenate(shifted, axis=-1)  # [B, H, W, taps * C_in]
    kernel = self.param('kernel', nn.initializers.lecun_normal(),
                        (len(self.taps) * x.shape[-1], self.features))
    bias = self.param('bias', nn.initializers.zeros, (self.features,))
    return stacked @ kernel + bias


class MaskedConv2D(nn.Module):
  """A zero-padded k x k convolution masked by `causal_mask(kernel_size, mask_type)`."""
  features: int
  kernel_size: int
  mask_type: str = 'B'

  @nn.compact
  def __call__(self, x: jax.Array) -> jax.Array:
    return TapConv(self.features, mask_taps(self.kernel_size, self.mask_type))(x)


def crop_window(image_hw: tuple[int, int], extent: tuple[int, int, int]) -> tuple[int, int]:
  """Static size (rows, cols) of the window a causal conv net needs to compute one pixel.

  `extent` = (up, left, right): how far the network's receptive field reaches above, left
  and right of a pixel (nothing below: it is causal). The window is clipped to the image.
  """
  up, left, right = extent
  return min(up + 1, image_hw[0]), min(left + right + 1, image_hw[1])


def window_origin(pos: jax.Array, image_hw: tuple[int, int],
                  extent: tuple[int, int, int]) -> tuple[jax.Array, jax.Array]:
  """Top-left corner of the window for raster position `pos`, kept inside the image.

  Each window edge is either an image edge (where the full network pads with zeros too)
  or at least the receptive extent away from the pixel, so the network run on the window
  gives the pixel exactly the logits of the full-image pass.
  """
  h, w = image_hw
  wh, ww = crop_window(image_hw, extent)
  r, c = pos // w, pos % w
  return jnp.clip(r - extent[0], 0, h - wh), jnp.clip(c - extent[1], 0, w - ww)


def logits_at_pixel(net, canvas: jax.Array, pos: jax.Array,
                    extent: tuple[int, int, int]) -> jax.Array:
  """net(window of canvas)[pixel pos]: [B, C] logits for raster position `pos`.

  `net` maps [B, h, w, 1] -> [B, h, w, C] with zero padding at its borders; only the
  (extent-sized) neighbourhood of the pixel is computed, not the whole image.
  """
  image_hw = canvas.shape[1:3]
  wh, ww = crop_window(image_hw, extent)
  r0, c0 = window_origin(pos, image_hw, extent)
  window = jax.lax.dynamic_slice(canvas, (0, r0, c0, 0), (canvas.shape[0], wh, ww, canvas.shape[3]))
  out = net(window)
  r, c = pos // image_hw[1] - r0, pos % image_hw[1] - c0
  return jax.lax.dynamic_slice(out, (0, r, c, 0), (out.shape[0], 1, 1, out.shape[3]))[:, 0, 0]


class WindowSampling:
  """What the convolutional models share: logits from `features` and `logits_from_features`,
  and per-pixel decoding that runs the network on the pixel's receptive window only
  (`self.extent`). Mixed into PixelCNN and GatedPixelCNN."""

  def __call__(self, x: jax.Array, y: jax.Array | None = None) -> jax.Array:
    return self.logits_from_features(self.features(x), y)

  def decode_init(self, batch_size: int):
    del batch_size
    return {}

  def decode_step(self, state, canvas: jax.Array, pos: jax.Array, y: jax.Array | None = None):
    """Logits [B, C] for raster position `pos` of `canvas`, from its receptive window."""
    net = lambda window: self(window, y)
    return logits_at_pixel(net, canvas, pos, self.extent), state
