"""Colour-channel masks (van den Oord et al., 2016, "Pixel Recurrent Neural Networks",
sec. 3.4): the sub-pixels of a colour pixel are predicted in the order R, G, B.

Every layer's feature channels are split into one group per colour (contiguous thirds for
RGB), group k carrying what the prediction of colour k may know. A layer's connection from
an input channel of group i to an output channel of group j is open when
  mask A (the first layer, reading the image): i < j  (R sees nothing, G sees R, B R and G)
  mask B (every later layer):                  i <= j (a group also sees its own group),
at the centre tap only: every group may see the whole of earlier pixels, so taps above the
centre row, and left of the centre in it, stay open. A 1x1 layer is a centre tap alone
(mask B). Chained, colour k's output at a pixel reads only colours < k of that pixel.

With one colour the mask is all ones, and the layers here are plain ones (`dense` returns
flax's own Dense) so that grayscale models keep their parameters and their numbers.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from flax import linen as nn


def colour_groups(num_channels: int, colours: int, blocks: int = 1) -> np.ndarray:
  """The colour group [num_channels] of each channel: `blocks` equal consecutive blocks
  (the two halves a gate splits), each cut into `colours` near-equal contiguous parts."""
  if num_channels % blocks:
    raise ValueError(f'{num_channels} channels do not split into {blocks} equal blocks.')
  per_block = num_channels // blocks
  return np.tile(np.arange(per_block) * colours // per_block, blocks)


def channel_mask(in_groups: np.ndarray, out_groups: np.ndarray, mask_type: str) -> np.ndarray:
  """[in, out] 0/1: 1 where input group < (A) or <= (B) output group."""
  if mask_type not in ('A', 'B'):
    raise ValueError(f"mask_type must be 'A' or 'B', got {mask_type!r}.")
  i, j = np.asarray(in_groups)[:, None], np.asarray(out_groups)[None, :]
  return ((i < j) if mask_type == 'A' else (i <= j)).astype(np.float32)


class ColourDense(nn.Module):
  """A 1x1 layer whose weights respect the colour groups (mask B): output group j reads
  input groups <= j. Parameters as flax's Dense ('kernel' [in, out], 'bias' [out]),
  float32; `dtype` is the computation's, as flax's."""
  features: int
  colours: int
  in_blocks: int = 1
  out_blocks: int = 1
  dtype: str = 'float32'

  @nn.compact
  def __call__(self, x: jax.Array) -> jax.Array:
    kernel = self.param('kernel', nn.initializers.lecun_normal(), (x.shape[-1], self.features))
    bias = self.param('bias', nn.initializers.zeros, (self.features,))
    mask = channel_mask(colour_groups(x.shape[-1], self.colours, self.in_blocks),
                        colour_groups(self.features, self.colours, self.out_blocks), 'B')
    masked = (kernel * jnp.asarray(mask)).astype(self.dtype)
    return x.astype(self.dtype) @ masked + bias.astype(self.dtype)


def dense(features: int, colours: int, in_blocks: int = 1, out_blocks: int = 1,
          dtype: str = 'float32', **kw):
  """flax's Dense for one colour (grayscale parameters and numbers unchanged), else a
  ColourDense; either computes in `dtype`."""
  if colours == 1:
    return nn.Dense(features, dtype=dtype, **kw)
  return ColourDense(features, colours, in_blocks, out_blocks, dtype=dtype, **kw)
