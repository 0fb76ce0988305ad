"""Speed levers for the genjax PixelCNN train step on CPU, each against the same PyTorch
step in one process (interleaved repeats, ratios compared, not absolute numbers).

  .venv/bin/python -m benchmarks.autoregressive_levers --levers concat,sum,vjp

A lever swaps TapConv's forward (or its gradient) while the loop's own step
(benchmarks/loop_step.py) is traced; the parameter tree is the same for all of them. XLA
flags are a whole-process setting: run this once per XLA_FLAGS value and compare the
printed ratios.
"""

from __future__ import annotations

import argparse
import functools

import jax
import jax.numpy as jnp
import numpy as np
from flax import linen as nn

from benchmarks import autoregressive_train as bench
from benchmarks.harness import Timer, begin, interleaved_repeats, load_images
from genjax.models import masked_conv


def _pads(taps):
  dys, dxs = [t[0] for t in taps], [t[1] for t in taps]
  return max(0, -min(dys)), max(0, max(dys)), max(0, -min(dxs)), max(0, max(dxs))


def shifted_inputs(x, taps):
  """[x shifted by each tap], zero outside the image: x_t[r, c] = x[r + dy, c + dx]."""
  up, down, left, right = _pads(taps)
  h, w = x.shape[1:3]
  padded = jnp.pad(x, ((0, 0), (up, down), (left, right), (0, 0)))
  return [padded[:, up + dy:up + dy + h, left + dx:left + dx + w] for dy, dx in taps]


def concat_matmul(x, kernel, taps):
  return jnp.concatenate(shifted_inputs(x, taps), axis=-1) @ kernel


def sum_of_tap_matmuls(x, kernel, taps):
  per_tap = kernel.reshape(len(taps), x.shape[-1], -1)
  return sum(s @ k for s, k in zip(shifted_inputs(x, taps), per_tap))


@functools.partial(jax.custom_vjp, nondiff_argnums=(2,))
def tap_matmul_vjp(x, kernel, taps):
  return concat_matmul(x, kernel, taps)


def _fwd(x, kernel, taps):
  stacked = jnp.concatenate(shifted_inputs(x, taps), axis=-1)
  return stacked @ kernel, (stacked, kernel)


def _bwd(taps, res, g):
  """Both gradients as one matmul each: dW = stacked^T g, and dx as a tap conv of g with
  the negated taps and transposed kernels (no per-tap pad-and-add)."""
  stacked, kernel = res
  c_in = stacked.shape[-1] // len(taps)
  d_kernel = jnp.einsum('bhwk,bhwf->kf', stacked, g)
  flipped = tuple((-dy, -dx) for dy, dx in taps)
  k_t = kernel.reshape(len(taps), c_in, -1).transpose(0, 2, 1).reshape(-1, c_in)
  d_x = jnp.concatenate(shifted_inputs(g, flipped), axis=-1) @ k_t
  return d_x, d_kernel


tap_matmul_vjp.defvjp(_fwd, _bwd)


def bf16_concat_matmul(x, kernel, taps):
  """bf16 operands, f32 accumulation and output (changes numerics: ~3 significant digits)."""
  stacked = jnp.concatenate(shifted_inputs(x, taps), axis=-1)
  return jnp.matmul(stacked.astype(jnp.bfloat16), kernel.astype(jnp.bfloat16),
                    preferred_element_type=jnp.float32)


FORMS = {'concat': concat_matmul, 'sum': sum_of_tap_matmuls, 'vjp': tap_matmul_vjp,
         'bf16': bf16_concat_matmul}


def tap_conv_class(form):
  """A TapConv (same class name, so the same parameter paths) computing with `form`."""

  class TapConv(masked_conv.TapConv):  # pylint: disable=redefined-outer-name

    @nn.compact
    def __call__(self, x):
      kernel = self.param('kernel', nn.initializers.lecun_normal(),
                          (len(self.taps) * x.shape[-1], self.features))
      bias = self.param('bias', nn.initializers.zeros, (self.features,))
      return FORMS[form](x, kernel, self.taps) + bias

  return TapConv


def _one_thread(run_n):
  import torch  # pylint: disable=g-import-not-at-top

  def run(n):
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
      run_n(n)
    finally:
      torch.set_num_threads(threads)

  return run


def main():
  p = argparse.ArgumentParser()
  p.add_argument('--levers', default='concat,sum,vjp')
  p.add_argument('--models', default='pixelcnn')
  p.add_argument('--steps-per-call', default='1', help='comma-separated, one step each')
  p.add_argument('--repeats', type=int, default=3)
  p.add_argument('--min-time', type=float, default=3.0)
  p.add_argument('--torch', default='full', help='comma-separated torch variants: full, '
                 'cropped, with +cl (channels_last) and/or +t1 (one thread)')
  args = p.parse_args()
  begin(__doc__)
  images, _ = load_images(4096, binarize=True)
  original = masked_conv.TapConv
  measures = {}
  for name in args.models.split(','):
    for lever in args.levers.split(','):
      for k in (int(s) for s in args.steps_per_call.split(',')):
        if lever != 'concat':
          masked_conv.TapConv = tap_conv_class(lever)
        try:  # the loop's step, traced (compiled) with this TapConv
          step = bench.train_step(name, 64, k)
        finally:
          masked_conv.TapConv = original
        measures[f'{name} genjax {lever} spc={k}'] = step.timer(args.min_time).rate
    for variant in args.torch.split(','):
      conv, *options = variant.split('+')
      t = bench.torch_train(name, images, 64, conv, 'cl' in options)
      run_n = _one_thread(t.run_n) if 't1' in options else t.run_n  # no OpenMP barrier stalls
      measures[f'{name} torch {variant}'] = Timer(run_n, 64, args.min_time, warm_up=3).rate
  print('compiled:', ', '.join(measures), flush=True)
  raw, _ = interleaved_repeats(measures, args.repeats)
  for name in args.models.split(','):
    ref = f'{name} torch {args.torch.split(",")[0]}'
    print(f'\n{"lever":40s} {"median ex/s":>12s} {"/ " + ref:>24s}  per-repeat ratios')
    for key in (k for k in measures if k.startswith(name + ' ')):
      ratios = [a / b for a, b in zip(raw[key], raw[ref])]
      print(f'{key:40s} {np.median(raw[key]):12.1f} {np.median(ratios):24.2f}  '
            + ', '.join(f'{v:.2f}' for v in ratios))


if __name__ == '__main__':
  main()
