"""Where the DDPM U-Net's train step spends its time on this CPU, against PyTorch.

  .venv/bin/python -m benchmarks.unet_profile [--out results.json]

The step of configs/diffusion.py:cpu (batch 64) taken apart by measurement:

* convolutions: every convolution the U-Net runs is recorded while it is traced (flax's
  method interceptor), then each is timed alone, forward and backward, in genjax's
  formulation for this config (inside a `lax.scan` when the config does not unroll) and
  as PyTorch's `nn.Conv2d`; their sums are the convolutions' share of a step;
* the rest, by ablation of the loop's own step (benchmarks/loop_step.py): without
  GroupNorm, without attention, and with SGD and no EMA; each step's images/s beside the
  full one's and PyTorch's, interleaved.
"""

from __future__ import annotations

import collections

import flax.linen as nn
import jax
import jax.numpy as jnp

from benchmarks import diffusion_throughput as setup
from benchmarks import loop_step
from benchmarks.conv_formulations import grad_step
from benchmarks.harness import (CallTimer, Timer, arguments, begin, command_line, finish,
                                interleaved_repeats)
from configs import diffusion as diffusion_config
from genjax.models import conv as conv_lib
from genjax.models import unet as unet_lib

ABLATIONS = ('full step', 'no GroupNorm', 'no attention', 'SGD, no EMA')
IMAGE_SHAPE = (28, 28, 1)  # configs/diffusion.py's Fashion-MNIST


def parse_args(argv=None):
  p = arguments(__doc__, 2, 2.0)
  p.add_argument('--skip-ablations', action='store_true')
  return p.parse_args(argv)


def recorded_convs(config) -> collections.Counter:
  """(input shape, kernel shape, strides, padding) of every Conv the U-Net's forward runs."""
  model = unet_lib.make_model(config.model, 0)
  x = jnp.zeros((config.batch_size,) + IMAGE_SHAPE, jnp.float32)
  seen = collections.Counter()

  def record(next_fun, args, kwargs, context):
    module = context.module
    if isinstance(module, conv_lib.Conv) and context.method_name == '__call__':
      inputs = args[0]
      seen[(tuple(inputs.shape), tuple(module.kernel_size) + (inputs.shape[-1], module.features),
            tuple(module.strides), str(module.padding))] += 1
    return next_fun(*args, **kwargs)

  with nn.intercept_methods(record):
    jax.eval_shape(lambda: model.init(jax.random.PRNGKey(0), x, jnp.zeros((x.shape[0],),
                                                                           jnp.int32)))
  return seen


def genjax_conv_ms(shape, formulation: str, in_scan: bool, min_time: float):
  """Milliseconds per forward and backward of one conv, in genjax's formulation."""
  x_shape, k_shape, strides, padding = shape
  pads = conv_lib.explicit_padding(padding, x_shape[1:3], k_shape[:2], strides)
  length = 4 if in_scan else 0
  step, x, k = grad_step(x_shape, k_shape, strides, pads, formulation, length)
  timer = CallTimer(lambda: step(x, k), max(length, 1), min_time)
  return lambda: 1e3 * timer.seconds()


def torch_conv_ms(shape, min_time: float):
  """Milliseconds per forward and backward of one conv as PyTorch's nn.Conv2d."""
  import torch  # pylint: disable=g-import-not-at-top
  x_shape, k_shape, strides, padding = shape
  b, h, w, c_in = x_shape
  kh, kw, _, c_out = k_shape
  (pt, pb), (pl, pr) = conv_lib.explicit_padding(padding, (h, w), (kh, kw), strides)
  x = torch.randn(b, c_in, h, w, requires_grad=True)
  layer = torch.nn.Conv2d(c_in, c_out, (kh, kw), stride=strides, padding=0)

  def run_n(n):
    for _ in range(n):
      y = layer(torch.nn.functional.pad(x, (pl, pr, pt, pb)))
      (y ** 2).sum().backward()

  timer = Timer(run_n, 1, min_time, warm_up=2)
  return lambda: 1e3 * timer.seconds()


def ablated_steps(config, min_time: float, with_torch: bool):
  """Rates (images/s) of the loop's step and its ablations, and PyTorch's step."""
  # pylint: disable=protected-access
  orig_norm, orig_attn = unet_lib._norm, unet_lib.AttnBlock

  class Identity(nn.Module):
    @nn.compact
    def __call__(self, x):
      return x

  measures, first = {}, None
  try:
    for name in ABLATIONS:
      unet_lib._norm = (lambda *a: Identity()) if name == 'no GroupNorm' else orig_norm
      unet_lib.AttnBlock = (lambda *a: Identity()) if name == 'no attention' else orig_attn
      c = config.copy_and_resolve_references()
      if name == 'SGD, no EMA':
        c.optimizer.name, c.ema_decay = 'sgd', 0.0
      side = setup.GenjaxDiffusion(c)
      measures[name] = side.train.timer(min_time).rate
      first = first or side
  finally:
    unet_lib._norm, unet_lib.AttnBlock = orig_norm, orig_attn
  if with_torch:
    measures['PyTorch step'] = setup.TorchDiffusion(config, first, 0).train_timer(
        min_time).rate
  return measures


def main(argv=None):
  args = parse_args(argv)
  env, machine = begin(__doc__)
  config = loop_step.benchmark_config(diffusion_config.get_config, 'cpu')
  in_scan = config.unroll_steps == 1 and config.steps_per_call > 1
  formulation = lambda shape: conv_lib.choose(config.model.conv, shape[1], shape[2])
  print(f'configs/diffusion.py:cpu, batch {config.batch_size}, conv {config.model.conv!r}, '
        f'unroll_steps {config.unroll_steps} (convs timed '
        f"{'inside a scan' if in_scan else 'as plain calls'})", flush=True)
  convs = recorded_convs(config)
  measures = {}
  for shape in convs:
    measures['genjax', shape] = genjax_conv_ms(shape, formulation(shape), in_scan,
                                               args.min_time)
    measures['torch', shape] = torch_conv_ms(shape, args.min_time)
  raw, others = interleaved_repeats(measures, args.repeats)
  rows, totals = [], {'genjax': 0.0, 'torch': 0.0}
  print(f"\n{'input':20s} {'kernel':16s} {'stride':7s} {'count':>5s} {'genjax ms':>10s} "
        f"{'torch ms':>9s} {'torch/genjax':>12s}")
  for shape, count in convs.items():
    g, t = min(raw['genjax', shape]), min(raw['torch', shape])
    totals['genjax'] += count * g
    totals['torch'] += count * t
    rows.append({'input': shape[0], 'kernel': shape[1], 'strides': shape[2],
                 'formulation': formulation(shape), 'count': count, 'genjax_ms': g,
                 'torch_ms': t})
    print(f'{str(shape[0]):20s} {str(shape[1]):16s} {str(shape[2]):7s} {count:5d} '
          f'{g:10.2f} {t:9.2f} {g / t:11.2f}x')
  print(f"all convolutions of one step, forward and backward: genjax {totals['genjax']:.0f} ms, "
        f"torch {totals['torch']:.0f} ms", flush=True)
  result = {'command': command_line('benchmarks.unet_profile', argv), 'convs': rows,
            'conv_ms_per_step': totals, 'conv_other_share_per_repeat': others}
  if not args.skip_ablations:
    steps = ablated_steps(config, args.min_time * 2, with_torch=True)
    step_raw, step_others = interleaved_repeats(steps, args.repeats)
    others = others + step_others
    result['steps_images_per_s'] = {k: max(v) for k, v in step_raw.items()}
    for k, v in result['steps_images_per_s'].items():
      print(f'{k:14s} {v:7.1f} images/s  ({1e3 * config.batch_size / v:6.0f} ms a step)')
  finish(args.out, result, machine, others, env)


if __name__ == '__main__':
  main()
