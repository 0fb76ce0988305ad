"""genjax vs PyTorch VAE throughput on this machine's CPU, side by side, in one run.

Command (from the repository root):

  .venv/bin/python -m benchmarks.vae_throughput [--out results.json]

What is compared (examples/s, best of --repeats repeats, repeats interleaved so that a
burst of background load hits every measurement alike):

* genjax training through the library's own path: the 784-400-20 MLP VAE (ReLU, Bernoulli
  decoder), Adam 1e-3, batch 128, `gradient_update(negative_elbo_loss(model, False), adam)`
  -> `make_train_step(update, make_mesh())`, state from `create_train_state` placed
  replicated, batches [steps_per_call, 128, 28, 28, 1] put once on the device with
  `mesh.global_batch(..., batch_axis=1)`, so the step is timed, not numpy. Reported for
  every --steps-per-call value (default 1, 10, 50).
* genjax evaluation: the per-example negative ELBO under `jax.jit`, batches of 1000.
* PyTorch (`benchmarks/torch_vae.py`, the pytorch/examples VAE): training with the data
  preloaded in one tensor (the fair comparison), training through a shuffled DataLoader
  (what the canonical example costs), and evaluation in batches of 1000.
* A large jitted float32 matmul (2048 x 2048 @ 2048 x 2048 by default), the attainable
  GFLOP/s, against the genjax step's achieved GFLOP/s
  (examples/s * flops_per_train_example() / 1e9, matmul FLOPs only).

Goal: genjax training >= 2.5x the fair (preloaded) PyTorch loop, and >= 50% of the matmul
rate. Data: binarised Fashion-MNIST train (60,000) when /usr/share/datasets/fashion-mnist is
there, random binary images otherwise; the output says which. Results go to --out as JSON.
XLA CPU flags are taken from the XLA_FLAGS environment variable as usual and recorded.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import math
import os
import platform
import time

import numpy as np

import jax
import jax.numpy as jnp
import optax
import torch

from benchmarks import torch_vae
from benchmarks.harness import (BUSY_WARNING, IMAGE_SHAPE, command_line, interleaved_repeats,
                                load_data, machine_busy, others_line, print_machine_facts,
                                time_calls, write_json)
from genjax.models.vae import VAE
from genjax.objectives.vae import elbo_terms, negative_elbo_loss
from genjax.training import mesh as mesh_lib
from genjax.training.mesh import make_mesh
from genjax.training.family import stateless_loss
from genjax.training.state import create_train_state
from genjax.training.step import make_train_step
from genjax.training.update import gradient_update

BATCH = 128
EVAL_BATCH = 1000
TRAIN_GOAL = 2.5        # genjax train / torch preloaded train
MATMUL_GOAL = 0.5       # genjax GFLOP/s / matmul GFLOP/s


def parse_args(argv=None):
  p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
  p.add_argument('--out', default='', help='write the results as JSON to this path')
  p.add_argument('--repeats', type=int, default=3, help='best of this many repeats')
  p.add_argument('--min-time', type=float, default=2.0,
                 help='seconds each timed measurement runs at least')
  p.add_argument('--steps-per-call', default='1,10,50',
                 help='comma-separated steps_per_call values for genjax training')
  p.add_argument('--matmul-size', type=int, default=2048)
  p.add_argument('--matmul-precision', default='',
                 help="if set, run the genjax side under jax.default_matmul_precision(this)")
  p.add_argument('--skip-torch', action='store_true', help='genjax and matmul only')
  p.add_argument('--max-examples', type=int, default=0,
                 help='use only this many examples (0: all)')
  return p.parse_args(argv)


# ----------------------------------------------------------------------------- genjax


class GenjaxTrain:
  """The library's train step for one steps_per_call, batches preloaded on the device."""

  def __init__(self, images: np.ndarray, steps_per_call: int, precision: str,
               dtype: str = 'float32'):
    self.k = steps_per_call
    self.precision = precision
    self.mesh = make_mesh()
    mesh_lib.check_divides(BATCH, self.mesh)
    model = VAE(image_shape=IMAGE_SHAPE, latent_dim=20, hidden=(400,), activation='relu',
                dtype=dtype)
    optimizer = optax.adam(1e-3)
    update = gradient_update(stateless_loss(negative_elbo_loss(model, False)), optimizer)
    self.step = make_train_step(update, self.mesh)

    init_rng, state_rng = jax.random.split(jax.random.PRNGKey(0))
    example = jnp.asarray(images[:1])
    self.state = jax.jit(
        lambda r: create_train_state(model.init(r, example), optimizer, state_rng, ema=False),
        out_shardings=mesh_lib.replicated(self.mesh))(init_rng)

    # A shuffled pass over the data, cut into calls of [k, 128, 28, 28, 1], each put on
    # the device once; timed calls cycle through them.
    per_call = self.k * BATCH
    order = np.random.default_rng(1).permutation(len(images))
    n_calls = max(1, len(images) // per_call)
    if n_calls * per_call > len(images):  # fewer examples than one call needs: repeat
      order = np.resize(order, per_call)
    self.batches = []
    for c in range(n_calls):
      idx = order[c * per_call:(c + 1) * per_call]
      local = {'image': images[idx].reshape((self.k, BATCH) + IMAGE_SHAPE)}
      self.batches.append(mesh_lib.global_batch(local, self.mesh, batch_axis=1))
    jax.block_until_ready(self.batches)
    self.cursor = 0
    t0 = time.perf_counter()
    self.run_n(1)  # compile and warm up
    self.compile_s = time.perf_counter() - t0
    self.compile_check()

  def _ctx(self):
    if self.precision:
      return jax.default_matmul_precision(self.precision)
    return contextlib.nullcontext()

  def compile_check(self):
    """One more call, to make sure the step neither recompiles nor goes non-finite."""
    with self._ctx():
      self.state, metrics = self.step(self.state, self._next())
    finite = np.asarray(metrics['finite'])
    if not finite.all():
      raise FloatingPointError('non-finite loss in the benchmark step')
    self.last_loss = float(np.asarray(metrics['loss'])[-1])

  def _next(self):
    b = self.batches[self.cursor]
    self.cursor = (self.cursor + 1) % len(self.batches)
    return b

  def run_n(self, n: int) -> None:
    with self._ctx():
      state = self.state
      for _ in range(n):
        state, _ = self.step(state, self._next())
      self.state = jax.block_until_ready(state)

  def measure(self, min_time: float) -> float:
    self.n, dt = time_calls(self.run_n, min_time, getattr(self, 'n', 1))
    return self.n * self.k * BATCH / dt


class GenjaxEval:
  """Per-example negative ELBO under jax.jit, batches of 1000 preloaded on the device."""

  def __init__(self, images: np.ndarray, params, precision: str):
    model = VAE(image_shape=IMAGE_SHAPE, latent_dim=20, hidden=(400,), activation='relu')
    self.precision = precision
    self.fn = jax.jit(lambda p, x, r: -elbo_terms(model, p, x, None, r)['elbo'])
    n = len(images) // EVAL_BATCH
    if n == 0:
      raise ValueError(f'need at least {EVAL_BATCH} examples for the eval benchmark')
    self.batches = [jax.device_put(images[i * EVAL_BATCH:(i + 1) * EVAL_BATCH])
                    for i in range(n)]
    self.keys = list(jax.random.split(jax.random.PRNGKey(2), n))
    self.params = jax.tree.map(jnp.copy, params)  # the train state is donated, so copy
    jax.block_until_ready((self.batches, self.keys, self.params))
    self.run_n(1)

  def run_n(self, n: int) -> None:
    ctx = (jax.default_matmul_precision(self.precision) if self.precision
           else contextlib.nullcontext())
    with ctx:
      outs = []
      for _ in range(n):
        outs = [self.fn(self.params, x, k) for x, k in zip(self.batches, self.keys)]
      jax.block_until_ready(outs)

  def measure(self, min_time: float) -> float:
    self.n, dt = time_calls(self.run_n, min_time, getattr(self, 'n', 1))
    return self.n * len(self.batches) * EVAL_BATCH / dt


class Matmul:
  """A large jitted float32 matmul: the GFLOP/s this CPU attains through XLA."""

  def __init__(self, size: int):
    self.size = size
    ka, kb = jax.random.split(jax.random.PRNGKey(3))
    self.a = jax.random.normal(ka, (size, size), jnp.float32)
    self.b = jax.random.normal(kb, (size, size), jnp.float32)
    self.fn = jax.jit(jnp.matmul)
    jax.block_until_ready(self.fn(self.a, self.b))

  def measure(self, min_time: float) -> float:
    """Best single call within ~min_time/2 seconds (at least 5 calls)."""
    best = math.inf
    calls = 0
    t_start = time.perf_counter()
    while calls < 5 or time.perf_counter() - t_start < 0.5 * min_time:
      t0 = time.perf_counter()
      jax.block_until_ready(self.fn(self.a, self.b))
      best = min(best, time.perf_counter() - t0)
      calls += 1
    return 2 * self.size**3 / best / 1e9


# ----------------------------------------------------------------------------- torch


class TorchMeasure:
  """One benchmarks/torch_vae.py function with its step count calibrated to min_time."""

  def __init__(self, fn, images, unit: int, count_kw: str, base: int, min_time: float):
    # unit: examples per count (a step's batch, or one pass over the data for eval).
    self.fn, self.images, self.kw = fn, images, count_kw
    rate = fn(images, **{count_kw: base})  # calibration (and warm-up), not reported
    self.count = max(base, math.ceil(1.15 * min_time * rate / unit))

  def measure(self, min_time: float) -> float:
    del min_time  # calibrated in __init__
    return self.fn(self.images, **{self.kw: self.count})


# ----------------------------------------------------------------------------- main


def main(argv=None):
  args = parse_args(argv)
  steps_list = [int(s) for s in args.steps_per_call.split(',') if s]
  images, data_line = load_data(args.max_examples)
  flops_ex = torch_vae.flops_per_train_example()

  env = {
      'jax': jax.__version__, 'torch': torch.__version__, 'python': platform.python_version(),
      'devices': [str(d) for d in jax.devices()], 'cpu_count': os.cpu_count(),
      'torch_threads': os.cpu_count(), 'XLA_FLAGS': os.environ.get('XLA_FLAGS', ''),
      'matmul_precision': args.matmul_precision or 'default',
      'loadavg_at_start': os.getloadavg(),
  }
  print(__doc__.split('\n\n')[0])
  machine = print_machine_facts()
  print(f'data: {data_line}')
  print(f"jax {env['jax']} on {env['devices']}, torch {env['torch']} "
        f"({env['torch_threads']} threads), {env['cpu_count']} CPUs, "
        f"XLA_FLAGS={env['XLA_FLAGS']!r}, matmul precision {env['matmul_precision']}, "
        f"load average {env['loadavg_at_start'][0]:.2f}")
  print(f'best of {args.repeats} interleaved repeats, each timed >= {args.min_time:g} s; '
        'compiling and calibrating ...', flush=True)

  # Build (compile, warm up, calibrate) everything first, then interleave the repeats.
  measures: dict[str, object] = {}
  for k in steps_list:
    measures[f'genjax train, steps_per_call={k}'] = GenjaxTrain(images, k,
                                                                args.matmul_precision)
  any_train = measures[f'genjax train, steps_per_call={steps_list[0]}']
  measures['genjax eval'] = GenjaxEval(images, any_train.state.params, args.matmul_precision)
  if not args.skip_torch:
    measures['torch train, preloaded'] = TorchMeasure(
        torch_vae.train_examples_per_sec_preloaded, images, BATCH, 'steps', 50, args.min_time)
    measures['torch train, DataLoader'] = TorchMeasure(
        torch_vae.train_examples_per_sec_dataloader, images, BATCH, 'steps', 50,
        args.min_time)
    measures['torch eval'] = TorchMeasure(
        torch_vae.eval_examples_per_sec, images, len(images), 'repeats', 1, args.min_time)
  measures['matmul'] = Matmul(args.matmul_size)

  raw, others = interleaved_repeats(
      {name: functools.partial(m.measure, args.min_time) for name, m in measures.items()},
      args.repeats)
  env['other_processes_cpu_share_per_repeat'] = others
  busy = machine_busy(others)
  best = {name: max(v) for name, v in raw.items()}

  # ---- table
  train_names = [f'genjax train, steps_per_call={k}' for k in steps_list]
  best_train_name = max(train_names, key=lambda n: best[n])
  g_train = best[best_train_name]
  matmul = best['matmul']

  def gflops(name):
    return best[name] * flops_ex / 1e9 if 'train' in name else None

  print()
  print(f"{'measurement':36s} {'best ex/s':>12s} {'median ex/s':>12s} {'GFLOP/s':>9s}  "
        f"raw (ex/s)")
  print('-' * 100)
  for name in measures:
    if name == 'matmul':
      continue
    gf = gflops(name)
    gf_s = f'{gf:9.1f}' if gf is not None else f"{'':9s}"
    print(f'{name:36s} {best[name]:12,.0f} {np.median(raw[name]):12,.0f} {gf_s}  '
          + ', '.join(f'{v:,.0f}' for v in raw[name]))
  mm_name = f'matmul {args.matmul_size}^2 f32 (GFLOP/s)'
  print(f"{mm_name:36s} {'':12s} {'':12s} {matmul:9.1f}  "
        + ', '.join(f'{v:.1f}' for v in raw['matmul']))
  print(f'FLOPs per train example (matmul only, 3x forward): {flops_ex:,.0f}')
  print()

  ratios = {}
  ratios['genjax GFLOP/s / matmul GFLOP/s'] = g_train * flops_ex / 1e9 / matmul
  goals = {}
  if not args.skip_torch:
    ratios['genjax train / torch train preloaded'] = g_train / best['torch train, preloaded']
    ratios['genjax train / torch train DataLoader'] = g_train / best['torch train, DataLoader']
    ratios['genjax eval / torch eval'] = best['genjax eval'] / best['torch eval']
    goals[f'genjax train >= {TRAIN_GOAL}x torch preloaded'] = (
        ratios['genjax train / torch train preloaded'] >= TRAIN_GOAL)
  goals[f'genjax train >= {MATMUL_GOAL:.0%} of matmul GFLOP/s'] = (
      ratios['genjax GFLOP/s / matmul GFLOP/s'] >= MATMUL_GOAL)
  print(f'ratios (genjax train = best steps_per_call: {best_train_name}):')
  for name, v in ratios.items():
    shown = f'{v:.1%}' if 'GFLOP' in name else f'{v:.2f}x'
    print(f'  {name:42s} {shown:>8s}')
  print('goals:' + (' (UNRELIABLE: the machine was busy, see below)' if busy else ''))
  for name, ok in goals.items():
    print(f"  {name:42s} {'MET' if ok else 'NOT MET':>8s}")
  env['loadavg_at_end'] = os.getloadavg()
  print(f"load average at start {env['loadavg_at_start'][0]:.2f}, "
        f"at end {env['loadavg_at_end'][0]:.2f}; other processes' share of the CPUs "
        f"per repeat: " + others_line(others))
  if busy:
    print(BUSY_WARNING)

  if args.out:
    result = {
        'command': command_line('benchmarks.vae_throughput', argv),
        'data': data_line,
        'environment': env,
        'settings': {'batch_size': BATCH, 'eval_batch_size': EVAL_BATCH,
                     'steps_per_call': steps_list, 'repeats': args.repeats,
                     'min_time_s': args.min_time, 'matmul_size': args.matmul_size,
                     'model': '784-400-20 MLP VAE, ReLU, Bernoulli decoder, Adam 1e-3'},
        'examples_per_sec_best': {k: v for k, v in best.items() if k != 'matmul'},
        'examples_per_sec_raw': {k: v for k, v in raw.items() if k != 'matmul'},
        'matmul_gflops_best': matmul, 'matmul_gflops_raw': raw['matmul'],
        'flops_per_train_example': flops_ex,
        'genjax_train_gflops': {n: gflops(n) for n in train_names},
        'genjax_compile_s': {n: measures[n].compile_s for n in train_names},  # and one call
        'best_genjax_train': best_train_name,
        'ratios': ratios, 'goals': goals, 'machine_busy': busy,
        'genjax_last_train_loss': {n: measures[n].last_loss for n in train_names},
    }
    write_json(args.out, result, machine)


if __name__ == '__main__':
  main()
