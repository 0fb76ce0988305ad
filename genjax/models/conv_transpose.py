"""A 4x4 stride-2 'SAME' transposed convolution computed as four 2x2 phase convolutions.

When to use which: `ConvTranspose4x4Stride2` here for a 4x4 kernel at stride 2 with 'SAME'
padding (the VQ-VAE decoder's and DCGAN generator's upsampling, which double the size);
`genjax.models.conv.ConvTranspose` for any other kernel, stride or padding (the VAE's and
the autoencoder's 3x3 stride-2 decoders). This layer is the special case of that one for
the one shape: the same function and the same parameters as `conv.ConvTranspose`, and as
flax's `nn.ConvTranspose(features, (4, 4), strides=(2, 2), padding='SAME')`, so either
loads the other's checkpoints.

Why a layer of its own: the general layer (XLA's lowering of flax's, and
`conv.ConvTranspose`) convolves the input dilated with zeros, so at stride 2 three in four
of its multiply-adds are by zero. Here each output pixel (2m + p, 2n + q) depends on a 2x2
window of the input, through the kernel taps of its phase (p, q): along one axis, phase 0
reads inputs m - 1 and m through taps 0 and 2, phase 1 reads m and m + 1 through taps 1
and 3. One convolution (`conv.convolve`, so the formulation `conv.choose` picks) with the
four phases' kernels stacked as output channels computes them all; interleaving them gives
the output, and no multiply-add is by an inserted zero.
"""

from __future__ import annotations

from typing import Callable

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from genjax.models import conv

# _TAPS[phase, a]: the kernel tap that input offset phase - 1 + a meets.
_TAPS = np.array([[0, 2], [1, 3]])


def phase_kernels(kernel: jax.Array) -> jax.Array:
  """[4, 4, C_in, C_out] -> [2, 2, C_in, 4 C_out]: each phase's 2x2 taps, stacked."""
  c_in, c_out = kernel.shape[2:]
  k = kernel[_TAPS[:, None, :, None], _TAPS[None, :, None, :]]  # [p, q, a, b, C_in, C_out]
  return jnp.transpose(k, (2, 3, 4, 0, 1, 5)).reshape(2, 2, c_in, 4 * c_out)


def conv_transpose_4x4_stride2(x: jax.Array, kernel: jax.Array) -> jax.Array:
  """x [B, H, W, C_in], kernel [4, 4, C_in, C_out] -> [B, 2H, 2W, C_out], as
  lax.conv_transpose(x, kernel, (2, 2), 'SAME')."""
  padded = jnp.pad(x, ((0, 0), (1, 1), (1, 1), (0, 0)))
  y = conv.convolve(padded, phase_kernels(kernel), (1, 1), ((0, 0), (0, 0)))
  b, h1, w1, _ = y.shape
  h, w, c_out = h1 - 1, w1 - 1, kernel.shape[-1]
  y = y.reshape(b, h1, w1, 2, 2, c_out)
  # Phase (p, q) at input position (m, n) sits at y[m + p, n + q].
  rows = [jnp.stack([y[:, p:p + h, q:q + w, p, q] for q in (0, 1)], axis=3) for p in (0, 1)]
  return jnp.stack(rows, axis=2).reshape(b, 2 * h, 2 * w, c_out)


class ConvTranspose4x4Stride2(nn.Module):
  """`nn.ConvTranspose(features, (4, 4), strides=(2, 2))` with its params and initialisers
  ('kernel' [4, 4, C_in, features], 'bias'), so either loads the other's checkpoints.
  use_bias=False drops the bias (a layer followed by BatchNorm, as DCGAN's). It computes
  in its input's dtype, as `conv.Conv` does; the params are float32."""
  features: int
  use_bias: bool = True
  kernel_init: Callable = nn.initializers.lecun_normal()

  @nn.compact
  def __call__(self, x: jax.Array) -> jax.Array:
    kernel = self.param('kernel', self.kernel_init, (4, 4, x.shape[-1], self.features))
    y = conv_transpose_4x4_stride2(x, kernel.astype(x.dtype))
    if not self.use_bias:
      return y
    return y + self.param('bias', nn.initializers.zeros_init(), (self.features,)).astype(y.dtype)
