"""Where the DDPM U-Net's train step spends its time on this CPU, against PyTorch.

  .venv/bin/python -m benchmarks.unet_profile [--out results.json]

XLA:CPU's profiler output needs tools this project does not install, so the step is taken
apart by measurement instead, on configs/diffusion.py:cpu at batch 64:

* convolutions: every convolution the U-Net runs is recorded while it is traced (flax's
  method interceptor), then each distinct one is timed alone, forward and backward (input
  and kernel gradients), in genjax's formulation for this config (`--conv`; inside a
  `lax.scan` when the config does not unroll, as in the train step) and as PyTorch's
  `nn.Conv2d`; the sums over the step's convolutions are the convolutions' share of a
  step in each library.
* the rest, by ablation of the whole step (the loop's own, `diffusion_setup`): without
  GroupNorm, without attention, and with plain SGD and no EMA instead of Adam and EMA;
  each step's images/s beside the full one's and PyTorch's, interleaved.
"""

from __future__ import annotations

import argparse
import collections

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import torch

from benchmarks import diffusion_setup as setup
from benchmarks import diffusion_throughput
from benchmarks.harness import (command_line, finish, interleaved_repeats, 
                                print_machine_facts, time_calls)
from genjax.models import conv as conv_lib
from genjax.models import unet as unet_lib

ABLATIONS = ('full step', 'no GroupNorm', 'no attention', 'SGD, no EMA')


def parse_args(argv=None):
  p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
  p.add_argument('--repeats', type=int, default=2)
  p.add_argument('--min-time', type=float, default=2.0)
  p.add_argument('--skip-ablations', action='store_true')
  p.add_argument('--out', default='')
  return p.parse_args(argv)


def recorded_convs(config, arrays) -> collections.Counter:
  """(input shape, kernel shape, strides, padding) of every Conv the U-Net's forward runs."""
  model = setup.UNet(**setup.unet_kwargs(config, 0), conv=config.model.conv)
  x = jnp.zeros((config.batch_size,) + tuple(arrays.train.images.shape[1:]), jnp.float32)
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


def genjax_conv_measure(shape, formulation: str, in_scan: bool, min_time: float):
  x_shape, k_shape, strides, padding = shape
  pads = conv_lib.explicit_padding(padding, x_shape[1:3], k_shape[:2], strides)
  fn = conv_lib.conv_taps if formulation == 'taps' else conv_lib.conv_xla
  grad = jax.grad(lambda x, k: jnp.sum(fn(x, k, strides, pads) ** 2), argnums=(0, 1))
  rng = np.random.default_rng(0)
  x = jnp.asarray(rng.standard_normal(x_shape), jnp.float32)
  k = jnp.asarray(rng.standard_normal(k_shape) * 0.1, jnp.float32)
  length = 4 if in_scan else 1
  if in_scan:
    def body(carry, _):
      gx, gk = grad(*carry)
      return (carry[0] + 1e-6 * gx, carry[1] + 1e-6 * gk), None
    step = jax.jit(lambda x, k: jax.lax.scan(body, (x, k), None, length=length)[0])
  else:
    step = jax.jit(grad)
  jax.block_until_ready(step(x, k))
  state = {'n': 1}

  def run_n(n):
    jax.block_until_ready([step(x, k) for _ in range(n)])

  def measure():
    state['n'], dt = time_calls(run_n, min_time, state['n'])
    return dt / (state['n'] * length) * 1e3  # ms per forward and backward
  return measure


def torch_conv_measure(shape, min_time: float):
  x_shape, k_shape, strides, padding = shape
  b, h, w, c_in = x_shape
  kh, kw, _, c_out = k_shape
  pads = conv_lib.explicit_padding(padding, (h, w), (kh, kw), strides)
  x = torch.randn(b, c_in, h, w, requires_grad=True)
  layer = torch.nn.Conv2d(c_in, c_out, (kh, kw), stride=strides, padding=0)
  (pt, pb), (pl, pr) = pads

  def run_n(n):
    for _ in range(n):
      y = layer(torch.nn.functional.pad(x, (pl, pr, pt, pb)))
      (y ** 2).sum().backward()

  run_n(2)
  state = {'n': 1}

  def measure():
    state['n'], dt = time_calls(run_n, min_time, state['n'])
    return dt / state['n'] * 1e3
  return measure


def ablated_steps(config, arrays, with_torch: bool):
  """Measures (images/s) of the whole step and its ablations, and PyTorch's step."""
  orig_norm, orig_attn = unet_lib._norm, unet_lib.AttnBlock

  class Identity(nn.Module):
    @nn.compact
    def __call__(self, x):
      return x

  measures, first = {}, None
  for name in ABLATIONS:
    unet_lib._norm = (lambda *a: Identity()) if name == 'no GroupNorm' else orig_norm
    unet_lib.AttnBlock = (lambda *a: Identity()) if name == 'no attention' else orig_attn
    c = config.copy_and_resolve_references()
    if name == 'SGD, no EMA':
      c.optimizer.name, c.ema_decay = 'sgd', 0.0
    side = setup.GenjaxDiffusion(c, arrays)
    measures[name] = side.train_measure()
    measures[name].run_n(1)
    first = first or side
  unet_lib._norm, unet_lib.AttnBlock = orig_norm, orig_attn
  if with_torch:
    measures['PyTorch step'] = setup.TorchDiffusion(config, arrays, first, 0).train_measure()
  return measures


def main(argv=None):
  args = parse_args(argv)
  machine = print_machine_facts()
  config = setup.benchmark_config(diffusion_throughput.parse_args(['--config-variant', 'cpu']))
  arrays, data_line = setup.load_train_arrays(config)
  in_scan = config.unroll_steps == 1 and config.steps_per_call > 1
  formulation = lambda shape: conv_lib.choose(config.model.conv, shape[1], shape[2])
  print(f'{data_line}\nconfigs/diffusion.py:cpu, batch {config.batch_size}, conv '
        f'{config.model.conv!r}, unroll_steps {config.unroll_steps} (convs timed '
        f"{'inside a scan' if in_scan else 'as plain calls'})", flush=True)
  convs = recorded_convs(config, arrays)
  measures = {}
  for shape in convs:
    measures[('genjax', shape)] = genjax_conv_measure(shape, formulation(shape), in_scan,
                                                      args.min_time)
    measures[('torch', shape)] = torch_conv_measure(shape, args.min_time)
  raw, others = interleaved_repeats(measures, args.repeats)
  rows, totals = [], {'genjax': 0.0, 'torch': 0.0}
  print(f"\n{'input':20s} {'kernel':16s} {'stride':7s} {'count':>5s} {'genjax ms':>10s} "
        f"{'torch ms':>9s} {'torch/genjax':>12s}")
  for shape, count in convs.items():
    g, t = min(raw[('genjax', shape)]), min(raw[('torch', shape)])
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
    steps = ablated_steps(config, arrays, with_torch=True)

    def rate(m):
      def fn():
        m.n, dt = time_calls(m.run_n, args.min_time * 2, m.n)
        return m.n * m.images_per_call / dt
      return fn
    step_raw, step_others = interleaved_repeats({k: rate(m) for k, m in steps.items()},
                                                args.repeats)
    others = others + step_others
    result['steps_images_per_s'] = {k: max(v) for k, v in step_raw.items()}
    for k, v in result['steps_images_per_s'].items():
      print(f'{k:14s} {v:7.1f} images/s  ({1e3 * config.batch_size / v:6.0f} ms a step)')
  finish(args.out, result, machine, others)


if __name__ == '__main__':
  main()
