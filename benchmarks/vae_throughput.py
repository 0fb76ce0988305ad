"""genjax vs PyTorch VAE throughput on this machine's CPU, side by side, in one run.

Command (from the repository root):

  .venv/bin/python -m benchmarks.vae_throughput [--out results.json]

What is compared (examples/s, best of interleaved repeats):

* genjax training: the loop's own step (benchmarks/loop_step.py) of configs/vae.py with
  pytorch/examples' 784-400-20 MLP (ReLU, Bernoulli decoder, Adam 1e-3, batch 128), for
  every --steps-per-call value;
* genjax evaluation: the loop's eval step (`make_eval_step` of the family's eval_fn) on
  the test split in batches of 1000;
* PyTorch (benchmarks/torch_vae.py, the pytorch/examples VAE): training with the data
  preloaded (the fair comparison), through a shuffled DataLoader, and evaluation;
* a large jitted float32 matmul: the attainable GFLOP/s, against the genjax step's.

Goals: genjax training >= 2.5x the preloaded PyTorch loop, and >= 50% of the matmul rate.
"""

from __future__ import annotations

import contextlib
import math
import time

import jax
import jax.numpy as jnp

from benchmarks import loop_step
from benchmarks.conv_share import conv_flop_share
from benchmarks.harness import (CallTimer, arguments, begin, best_and_median, command_line,
                                finish, interleaved_repeats, load_images)
from configs import vae as vae_config
from genjax.families import vae
from genjax.training import mesh as mesh_lib
from genjax.training.step import make_eval_step

BATCH = 128
EVAL_BATCH = 1000
TRAIN_GOAL = 2.5        # genjax train / torch preloaded train
MATMUL_GOAL = 0.5       # genjax GFLOP/s / matmul GFLOP/s


def parse_args(argv=None):
  p = arguments(__doc__)
  p.add_argument('--steps-per-call', default='1,10,50',
                 help='comma-separated steps_per_call values for genjax training')
  p.add_argument('--matmul-size', type=int, default=2048)
  p.add_argument('--matmul-precision', default='',
                 help="if set, compile the genjax side under jax.default_matmul_precision(this)")
  p.add_argument('--skip-torch', action='store_true', help='genjax and matmul only')
  p.add_argument('--max-examples', type=int, default=0,
                 help="the torch side's examples (0: all)")
  return p.parse_args(argv)


def train_step(steps_per_call: int, compute_dtype: str = 'float32') -> loop_step.LoopStep:
  """The loop's step of the benchmark's VAE (configs/vae.py, pytorch/examples' widths)."""
  config = loop_step.benchmark_config(
      vae_config.get_config, '', batch_size=BATCH, steps_per_call=steps_per_call,
      compute_dtype=compute_dtype, **{'model.hidden': (400,), 'model.latent_dim': 20})
  return loop_step.LoopStep(vae.FAMILY, config)


def eval_timer(step: loop_step.LoopStep, min_time: float) -> CallTimer:
  """The loop's eval step over the test split in batches of EVAL_BATCH, on a copy of the
  step's params (the train step donates its state); compiled by the first call. Its
  `conv_flop_share` is that of the program compiled for the first batch."""
  a = step.assembled
  run = make_eval_step(a.family.reporting.eval_fn, a.mesh)
  batches = [mesh_lib.global_batch(b, a.mesh)
             for b in a.data.splits['test'](EVAL_BATCH, 0, 1, 0)]
  keys = list(jax.random.split(jax.random.PRNGKey(2), len(batches)))
  params = jax.tree.map(jnp.copy, step.state.params)
  model_state = step.state.model_state
  timer = CallTimer(lambda: [run(params, model_state, b, k, None) for b, k in zip(batches, keys)],
                    len(batches) * EVAL_BATCH, min_time)
  timer.conv_flop_share = conv_flop_share(
      run.lower(params, model_state, batches[0], keys[0], None).compile())
  return timer


def matmul_gflops(size: int, min_time: float):
  """A large jitted float32 matmul: best single call within ~min_time/2 s (at least 5)."""
  ka, kb = jax.random.split(jax.random.PRNGKey(3))
  a, b = (jax.random.normal(k, (size, size), jnp.float32) for k in (ka, kb))
  matmul = jax.jit(jnp.matmul)
  timer = CallTimer(lambda: matmul(a, b), 2 * size**3 / 1e9)

  def measure():
    best, start, calls = 0.0, time.perf_counter(), 0
    while calls < 5 or time.perf_counter() - start < 0.5 * min_time:
      best, calls = max(best, timer.rate()), calls + 1
    return best
  return measure


class TorchMeasure:
  """A benchmarks/torch_vae.py function, which times itself, with its step count
  calibrated to min_time by one untimed call."""

  def __init__(self, fn, images, unit: int, count_kw: str, base: int, min_time: float):
    self.fn, self.images, self.kw = fn, images, count_kw
    rate = fn(images, **{count_kw: base})
    self.count = max(base, math.ceil(1.15 * min_time * rate / unit))

  def measure(self) -> float:
    return self.fn(self.images, **{self.kw: self.count})


def main(argv=None):
  args = parse_args(argv)
  steps_list = [int(s) for s in args.steps_per_call.split(',') if s]
  env, machine = begin(__doc__, matmul_precision=args.matmul_precision or 'default')
  print(f'best of {args.repeats} interleaved repeats, each timed >= {args.min_time:g} s; '
        'compiling and calibrating ...', flush=True)
  precision = (jax.default_matmul_precision(args.matmul_precision) if args.matmul_precision
               else contextlib.nullcontext())
  train_names = [f'genjax train, steps_per_call={k}' for k in steps_list]
  with precision:
    steps = {name: train_step(k) for name, k in zip(train_names, steps_list)}
    timers = {name: step.timer(args.min_time) for name, step in steps.items()}
    timers['genjax eval'] = eval_timer(steps[train_names[0]], args.min_time)
  measures = {name: t.rate for name, t in timers.items()}
  data = {'genjax': steps[train_names[0]].assembled.data.description}
  if not args.skip_torch:
    from benchmarks import torch_vae  # pylint: disable=g-import-not-at-top
    images, data['torch'] = load_images(args.max_examples, binarize=True)
    for name, fn, unit, kw, base in (
        ('torch train, preloaded', torch_vae.train_examples_per_sec_preloaded, BATCH, 'steps', 50),
        ('torch train, DataLoader', torch_vae.train_examples_per_sec_dataloader, BATCH, 'steps',
         50),
        ('torch eval', torch_vae.eval_examples_per_sec, len(images), 'repeats', 1)):
      measures[name] = TorchMeasure(fn, images, unit, kw, base, args.min_time).measure
  measures['matmul'] = matmul_gflops(args.matmul_size, args.min_time)

  raw, others = interleaved_repeats(measures, args.repeats)
  best, median = best_and_median(raw)
  # Matmul FLOPs of one training example, 784-400-20-400-784: 2 a multiply-add; training
  # is 3x forward (the forward matmul and the two backward ones); the rest is ignored.
  flops_ex = 3.0 * 2 * (784 * 400 + 400 * 20 * 2 + 20 * 400 + 400 * 784)
  gflops = {name: best[name] * flops_ex / 1e9 for name in train_names}
  best_train = max(train_names, key=lambda n: best[n])
  print(f"\n{'measurement':36s} {'best ex/s':>12s} {'median ex/s':>12s} {'GFLOP/s':>9s}  "
        'raw (ex/s)')
  for name in measures:
    shown = f'{gflops[name]:9.1f}' if name in gflops else ' ' * 9
    print(f'{name:36s} {best[name]:12,.0f} {median[name]:12,.0f} {shown}  '
          + ', '.join(f'{v:,.0f}' for v in raw[name]))
  print(f'(matmul {args.matmul_size}^2 float32 in GFLOP/s; FLOPs per train example, matmul '
        f'only, 3x forward: {flops_ex:,.0f})')
  ratios = {'genjax GFLOP/s / matmul GFLOP/s': gflops[best_train] / best['matmul']}
  goals = {f'genjax train >= {MATMUL_GOAL:.0%} of matmul GFLOP/s':
           ratios['genjax GFLOP/s / matmul GFLOP/s'] >= MATMUL_GOAL}
  if not args.skip_torch:
    ratios['genjax train / torch train preloaded'] = (best[best_train]
                                                      / best['torch train, preloaded'])
    ratios['genjax train / torch train DataLoader'] = (best[best_train]
                                                       / best['torch train, DataLoader'])
    ratios['genjax eval / torch eval'] = best['genjax eval'] / best['torch eval']
    goals[f'genjax train >= {TRAIN_GOAL}x torch preloaded'] = (
        ratios['genjax train / torch train preloaded'] >= TRAIN_GOAL)
  print(f'ratios (genjax train = best steps_per_call: {best_train}): ' + ', '.join(
      f'{name} {v:.2f}' for name, v in ratios.items()))
  print('goals: ' + ', '.join(f"{name} {'MET' if ok else 'NOT MET'}"
                              for name, ok in goals.items()))
  finish(args.out, {
      'command': command_line('benchmarks.vae_throughput', argv), 'data': data,
      'settings': {'batch_size': BATCH, 'eval_batch_size': EVAL_BATCH,
                   'steps_per_call': steps_list, 'repeats': args.repeats,
                   'min_time_s': args.min_time, 'matmul_size': args.matmul_size,
                   'model': '784-400-20 MLP VAE, ReLU, Bernoulli decoder, Adam 1e-3'},
      'examples_per_sec_best': {k: v for k, v in best.items() if k != 'matmul'},
      'examples_per_sec_raw': {k: v for k, v in raw.items() if k != 'matmul'},
      'matmul_gflops_best': best['matmul'], 'matmul_gflops_raw': raw['matmul'],
      'flops_per_train_example': flops_ex, 'genjax_train_gflops': gflops,
      'genjax_compile_s': {n: steps[n].compile_s for n in train_names},
      'genjax_conv_flop_share': {
          **{n: steps[n].conv_flop_share.record() for n in train_names},
          'genjax eval': timers['genjax eval'].conv_flop_share.record()},
      'best_genjax_train': best_train, 'ratios': ratios, 'goals': goals,
      'genjax_last_train_loss': {n: steps[n].last() for n in train_names},
  }, machine, others, env)


if __name__ == '__main__':
  main()
