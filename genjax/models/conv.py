"""The library's 2-D convolution: one layer, two formulations, the faster chosen per shape.

`Conv` has flax `nn.Conv`'s parameters ('kernel' [kh, kw, C_in, C_out], 'bias'), names
(`Conv_0`, ...), initialisers and padding rules, so either loads the other's checkpoints.
It computes the same function in one of two ways:

* 'xla': `lax.conv_general_dilated`, XLA's convolution.
* 'taps': the kernel's kh * kw shifted (and strided) views of the padded input stacked on
  the channel axis, then one matrix product with the kernel reshaped to [kh kw C_in, C_out]
  (im2col). `TapConv` found this form fast for the PixelCNNs on XLA:CPU, where a
  convolution inside a loop body is pathologically slow and small-channel convolutions use
  the cores poorly; on accelerators XLA's convolution is the native one.

'auto' (the default) picks per layer from the backend and the shape, by `choose`; the rule
and the measurements behind it are in `choose`'s docstring. Both formulations agree to
float tolerance, values and gradients (tests/models/test_conv.py).

`ConvTranspose` is flax's `nn.ConvTranspose` through the same formulations, for any kernel,
stride and padding. A 4x4 stride-2 'SAME' transposed convolution has a layer of its own,
`genjax.models.conv_transpose.ConvTranspose4x4Stride2` (same parameters and function, no
multiply-adds by the zeros this layer dilates its input with): use that one at that shape.
"""

from __future__ import annotations

from typing import Callable, Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp

FORMULATIONS = ('auto', 'xla', 'taps')
Padding = str | Sequence[tuple[int, int]]


def explicit_padding(padding: Padding, in_size: Sequence[int], kernel: Sequence[int],
                     strides: Sequence[int]) -> tuple[tuple[int, int], ...]:
  """(low, high) zeros per spatial axis, as XLA resolves 'SAME' / 'VALID' / explicit pairs."""
  if isinstance(padding, str):
    return tuple(jax.lax.padtype_to_pads(tuple(in_size), tuple(kernel), tuple(strides),
                                         padding.upper()))
  return tuple((int(lo), int(hi)) for lo, hi in padding)


def conv_xla(x: jax.Array, kernel: jax.Array, strides: Sequence[int],
             pads: Sequence[tuple[int, int]]) -> jax.Array:
  return jax.lax.conv_general_dilated(x, kernel, tuple(strides), tuple(pads),
                                      dimension_numbers=('NHWC', 'HWIO', 'NHWC'))


def conv_taps(x: jax.Array, kernel: jax.Array, strides: Sequence[int],
              pads: Sequence[tuple[int, int]]) -> jax.Array:
  """The same convolution as `conv_xla`, as one matmul over stacked shifted inputs."""
  kh, kw, c_in, c_out = kernel.shape
  (sh, sw), ((pt, pb), (pl, pr)) = strides, pads
  padded = jnp.pad(x, ((0, 0), (pt, pb), (pl, pr), (0, 0)))
  oh = (padded.shape[1] - kh) // sh + 1
  ow = (padded.shape[2] - kw) // sw + 1
  if kh == kw == 1 and sh == sw == 1:
    return padded @ kernel[0, 0]
  views = [padded[:, i:i + sh * (oh - 1) + 1:sh, j:j + sw * (ow - 1) + 1:sw]
           for i in range(kh) for j in range(kw)]
  # Row-major (i, j, c) order of the stacked channels is the kernel's own reshape.
  return jnp.concatenate(views, axis=-1) @ kernel.reshape(kh * kw * c_in, c_out)


def choose(formulation: str, kernel_shape: Sequence[int], strides: Sequence[int],
           backend: str | None = None) -> str:
  """The formulation a layer uses: `formulation` unless it is 'auto'.

  'auto' is 'xla' off the CPU. On XLA:CPU, measured forward and backward
  (benchmarks/conv_formulations.py; docs/results/performance.md), taps ran strided 3x3
  convolutions faster, but 28x28 ones and one-channel inputs or outputs slower; at 14x14
  and 7x7 it won for the U-Net's shapes and lost the whole VQ-VAE step. So 'auto' takes taps for a strided kernel larger
  than 1x1 with >= 32 input channels, and XLA's otherwise. Inside a loop body (a scan of
  train steps that is not unrolled) taps ran several times faster at every shape: a config
  that does not unroll should ask for 'taps'.
  """
  if formulation not in FORMULATIONS:
    raise ValueError(f'conv formulation must be one of {FORMULATIONS}, got {formulation!r}.')
  if formulation != 'auto':
    return formulation
  backend = backend or jax.default_backend()
  if backend != 'cpu' or tuple(kernel_shape[:2]) == (1, 1) or kernel_shape[2] < 32:
    return 'xla'
  return 'taps' if max(strides) > 1 else 'xla'


def in_loop_body(formulation: str, backend: str | None = None) -> str:
  """The formulation for a network called inside a loop body (an ODE solver's, a
  sampler's): 'auto' there is taps on XLA:CPU, where XLA's convolution inside a loop runs
  several times slower at every shape (`choose`). The same parameters and function."""
  backend = backend or jax.default_backend()
  return 'taps' if formulation == 'auto' and backend == 'cpu' else formulation


def convolve(x: jax.Array, kernel: jax.Array, strides: Sequence[int],
             pads: Sequence[tuple[int, int]], formulation: str = 'auto') -> jax.Array:
  """x [B, H, W, C_in] (NHWC) convolved with kernel [kh, kw, C_in, C_out] (HWIO), explicit
  (low, high) padding per axis, by the formulation `choose` picks."""
  which = choose(formulation, kernel.shape, strides)
  return (conv_taps if which == 'taps' else conv_xla)(x, kernel, strides, pads)


class Conv(nn.Module):
  """`nn.Conv(features, kernel_size, strides, padding)` computed by the chosen formulation.

  Same parameters, defaults and auto-names as flax's layer; `formulation` is 'auto', 'xla'
  or 'taps' (see the module docstring). Inputs are [..., H, W, C], any leading batch axes.
  """
  features: int
  kernel_size: Sequence[int]
  strides: Sequence[int] = (1, 1)
  padding: Padding = 'SAME'
  use_bias: bool = True
  kernel_init: Callable = nn.initializers.lecun_normal()
  bias_init: Callable = nn.initializers.zeros_init()
  formulation: str = 'auto'

  @nn.compact
  def __call__(self, x: jax.Array) -> jax.Array:
    strides = tuple(self.strides)

    def run(x, kernel):
      pads = explicit_padding(self.padding, x.shape[1:3], self.kernel_size, strides)
      return convolve(x, kernel, strides, pads, self.formulation)
    return _layer(self, x, run)


def _layer(layer: nn.Module, x: jax.Array, run) -> jax.Array:
  """What `Conv` and `ConvTranspose` share with flax's layers: the 'kernel' [kh, kw, C_in,
  features] and 'bias' params, any leading batch axes, computing in x's dtype. `run(x,
  kernel)` is the convolution itself, on x [B, H, W, C_in]."""
  kh, kw = layer.kernel_size
  kernel = layer.param('kernel', layer.kernel_init, (kh, kw, x.shape[-1], layer.features))
  lead, x = x.shape[:-3], x.reshape((-1,) + x.shape[-3:])
  y = run(x, kernel.astype(x.dtype))
  if layer.use_bias:
    y = y + layer.param('bias', layer.bias_init, (layer.features,)).astype(y.dtype)
  return y.reshape(lead + y.shape[1:])


def transpose_padding(kernel: int, stride: int, padding: str) -> tuple[int, int]:
  """(low, high) zeros around the stride-dilated input, as `lax.conv_transpose` pads."""
  if padding.upper() == 'SAME':
    total = kernel + stride - 2
    low = kernel - 1 if stride > kernel - 1 else -(-total // 2)
  elif padding.upper() == 'VALID':
    total, low = kernel + stride - 2 + max(kernel - stride, 0), kernel - 1
  else:
    raise ValueError(f"ConvTranspose padding must be 'SAME' or 'VALID', got {padding!r}.")
  return low, total - low


class ConvTranspose(nn.Module):
  """`nn.ConvTranspose(features, kernel_size, strides, padding)` (its parameters, names and
  function), computed as `Conv`'s formulation over the input dilated by the strides:
  XLA lowers flax's layer to a convolution with lhs dilation, which on CPU is slow inside
  a loop body like every XLA convolution. The general layer; for a 4x4 kernel at stride 2
  with 'SAME' padding use `conv_transpose.ConvTranspose4x4Stride2`, which skips the
  dilation's zeros."""
  features: int
  kernel_size: Sequence[int]
  strides: Sequence[int] = (1, 1)
  padding: str = 'SAME'
  use_bias: bool = True
  kernel_init: Callable = nn.initializers.lecun_normal()
  bias_init: Callable = nn.initializers.zeros_init()
  formulation: str = 'auto'

  @nn.compact
  def __call__(self, x: jax.Array) -> jax.Array:
    (kh, kw), (sh, sw) = self.kernel_size, self.strides

    def run(x, kernel):
      zero = jnp.zeros((), x.dtype)
      dilated = jax.lax.pad(x, zero, ((0, 0, 0), (0, 0, sh - 1), (0, 0, sw - 1), (0, 0, 0)))
      pads = (transpose_padding(kh, sh, self.padding), transpose_padding(kw, sw, self.padding))
      return convolve(dilated, kernel, (1, 1), pads, self.formulation)
    return _layer(self, x, run)
