"""The two formulations of `genjax.models.conv.Conv` against each other, shape by shape.

  .venv/bin/python -m benchmarks.conv_formulations [--out results.json]

For each convolution the library's conv models run (the DDPM U-Net's at batch 64, the
classifier's, the VQ-VAE's and DCGAN's strided ones), times forward and backward (the
gradient of a sum of the output with respect to input and kernel) under jit, once as a
plain call and once inside a `lax.scan` of --scan-length steps (the samplers' and fused
train steps' setting), for 'xla' (`lax.conv_general_dilated`) and 'taps' (one matmul over
stacked shifted views). Interleaved repeats (benchmarks/harness.py); the ratio taps / xla
is what `conv.choose` rests on. Levers tried: docs/results/performance.md.
"""

from __future__ import annotations


import jax
import jax.numpy as jnp
import numpy as np

from benchmarks.harness import (CallTimer, arguments, begin, command_line, finish,
                                interleaved_repeats)
from genjax.models import conv

# (name, batch, H, W, C_in, C_out, kernel, stride, padding)
SHAPES = (
    ('unet 28x28 3x3 32->32', 64, 28, 28, 32, 32, 3, 1, 'SAME'),
    ('unet 28x28 3x3 64->32 (skip concat)', 64, 28, 28, 64, 32, 3, 1, 'SAME'),
    ('unet 28->14 3x3 stride 2', 64, 28, 28, 32, 32, 3, 2, 'SAME'),
    ('unet 14x14 3x3 64->64', 64, 14, 14, 64, 64, 3, 1, 'SAME'),
    ('unet 14x14 3x3 128->64 (skip concat)', 64, 14, 14, 128, 64, 3, 1, 'SAME'),
    ('unet 7x7 3x3 64->64', 64, 7, 7, 64, 64, 3, 1, 'SAME'),
    ('unet 28x28 3x3 1->32 (input)', 64, 28, 28, 1, 32, 3, 1, 'SAME'),
    ('unet 28x28 3x3 32->1 (output)', 64, 28, 28, 32, 1, 3, 1, 'SAME'),
    ('classifier 28x28 3x3 32->32, batch 256', 256, 28, 28, 32, 32, 3, 1, 'SAME'),
    ('vqvae 28->14 4x4 stride 2', 64, 28, 28, 1, 64, 4, 2, 'SAME'),
    ('vqvae 7x7 3x3 128->128', 64, 7, 7, 128, 128, 3, 1, 'SAME'),
    ('dcgan 28->14 4x4 stride 2, pad 1', 64, 28, 28, 64, 128, 4, 2, ((1, 1), (1, 1))),
)


def parse_args(argv=None):
  p = arguments(__doc__, 3, 1.0)
  p.add_argument('--scan-length', type=int, default=4,
                 help='steps of the lax.scan measurement (0: leave it out)')
  p.add_argument('--only', default='', help='substring of the shape names to keep')
  return p.parse_args(argv)


def grad_step(x_shape, k_shape, strides, pads, formulation: str, scan_length: int):
  """(jitted forward and backward of one conv in `formulation`, x, kernel): the gradient
  of a sum of the squared output with respect to input and kernel, inside a `lax.scan` of
  `scan_length` steps when that is > 0 (the samplers' and fused train steps' setting)."""
  f = conv.conv_taps if formulation == 'taps' else conv.conv_xla
  grad = jax.grad(lambda x, k: jnp.sum(f(x, k, strides, pads) ** 2), argnums=(0, 1))
  rng = np.random.default_rng(0)
  x = jnp.asarray(rng.standard_normal(x_shape), jnp.float32)
  kernel = jnp.asarray(rng.standard_normal(k_shape) / np.sqrt(np.prod(k_shape[:3])),
                       jnp.float32)
  if not scan_length:
    return jax.jit(grad), x, kernel

  def body(carry, _):
    gx, gk = grad(carry[0], carry[1])
    return (carry[0] + 1e-6 * gx, carry[1] + 1e-6 * gk), None
  return jax.jit(lambda x, k: jax.lax.scan(body, (x, k), None, length=scan_length)[0]), x, kernel


def make_measure(shape, which, scan_length, min_time):
  """Convolutions forward and backward per second."""
  _, b, h, w, c_in, c_out, k, s, padding = shape
  pads = conv.explicit_padding(padding, (h, w), (k, k), (s, s))
  step, x, kernel = grad_step((b, h, w, c_in), (k, k, c_in, c_out), (s, s), pads, which,
                              scan_length)
  return CallTimer(lambda: step(x, kernel), max(scan_length, 1), min_time).rate


def main(argv=None):
  args = parse_args(argv)
  env, machine = begin(__doc__)
  shapes = [s for s in SHAPES if args.only in s[0]]
  measures = {}
  for shape in shapes:
    for setting, length in (('call', 0), ('scan', args.scan_length)):
      if setting == 'scan' and not length:
        continue
      for which in ('xla', 'taps'):
        measures[(shape[0], setting, which)] = make_measure(shape, which, length, args.min_time)
  raw, others = interleaved_repeats(measures, args.repeats)
  rows = []
  print(f"\n{'convolution':44s} {'setting':7s} {'xla /s':>9s} {'taps /s':>9s} {'taps/xla':>8s}")
  for shape in shapes:
    for setting in ('call', 'scan'):
      if (shape[0], setting, 'xla') not in raw:
        continue
      xla, taps = max(raw[(shape[0], setting, 'xla')]), max(raw[(shape[0], setting, 'taps')])
      rows.append({'shape': shape[0], 'setting': setting, 'xla_per_s': xla,
                   'taps_per_s': taps, 'taps_over_xla': taps / xla})
      print(f'{shape[0]:44s} {setting:7s} {xla:9.1f} {taps:9.1f} {taps / xla:7.2f}x')
  finish(args.out, {'command': command_line('benchmarks.conv_formulations', argv),
                    'rows': rows}, machine, others, env)


if __name__ == '__main__':
  main()
