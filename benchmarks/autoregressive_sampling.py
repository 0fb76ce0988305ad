"""Autoregressive sampling speed: the fast samplers against the naive one, in one run.

Command (from the repository root):

  .venv/bin/python -m benchmarks.autoregressive_sampling [--batch 16] [--out results.json]

What is timed: `genjax.samplers.autoregressive.sample`, jitted, drawing one batch of
--batch images of --size x --size pixels, with random-init parameters of the networks the
'cpu' configs train (`get_config('<arch>,cpu').model`, built by `make_model`); compiling is
excluded (one warm-up call first, then calls ended by `block_until_ready`); the fast
sampler's time is the best of --repeats calls, the naive one's a single call. Each model's
two samplers draw from the same key and the run checks that their samples agree.

* fast: the model's `decode_step`: cached convolutions (PixelCNN, Gated PixelCNN: one
  pixel of network per step), the key/value cache (Transformer), the recurrent state (LSTM);
* naive: the full network on the whole canvas at every position (N full passes).

The naive sampler runs the full network N times per image, which at 28x28 takes minutes
per model on a loaded CPU. With --naive-estimate it is not run: its time is taken as N
times one jitted full pass over the batch (best of --repeats), which is the work of each
of its steps whatever the position; the table marks such numbers 'est.'.

The Transformer is also timed at several sequence lengths N (--transformer-sizes, images
of s x s) to show how its cost grows: the table gives the cost per pixel and the log-log
slope of the total cost against N. Its key/value cache has a fixed N slots and every step
attends over all of them with the not-yet-written ones masked, so attention costs O(N) per
step and O(N^2) per image, next to the O(N) of the projections and MLP; the slope lies
between 1 and 2, nearer 2 the more attention dominates (large N, narrow model). The naive
sampler runs N full passes of O(N^2) attention: O(N^3) per image, slope up to 3.

Timings are wall-clock on whatever else the machine is running; the load average is
printed and recorded.
"""

from __future__ import annotations

import argparse
import os
import platform
import time

import jax
import jax.numpy as jnp
import numpy as np

from configs.autoregressive import get_config
from benchmarks.harness import command_line, print_machine_facts, write_json
from genjax.models.autoregressive import ARCHITECTURES, make_model
from genjax.samplers import autoregressive as samplers

CONFIG_VARIANT = {'pixelcnn': 'pixelcnn', 'gated_pixelcnn': 'gated',
                  'transformer': 'transformer', 'lstm': 'lstm'}


def parse_args(argv=None):
  p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
  p.add_argument('--batch', type=int, default=16, help='images per sampled batch')
  p.add_argument('--size', type=int, default=28, help='image side, in pixels')
  p.add_argument('--models', default=','.join(ARCHITECTURES),
                 help='comma-separated architectures from ' + ', '.join(ARCHITECTURES))
  p.add_argument('--transformer-sizes', default='8,14,20,28',
                 help='image sides for the Transformer cost-vs-N table (empty: skip it)')
  p.add_argument('--repeats', type=int, default=3, help='fast sampler: best of this many')
  p.add_argument('--naive-estimate', action='store_true',
                 help='naive time = N x one full pass, instead of running the naive sampler')
  p.add_argument('--out', default='', help='write the results as JSON to this path')
  return p.parse_args(argv)


def build(arch: str, size: int):
  """(model, params) at the 'cpu' config's sizes, random init, for size x size images."""
  m = get_config(f'{CONFIG_VARIANT[arch]},cpu').model
  shape = (size, size, 1)
  model = make_model(m, shape, 0)
  params = jax.jit(model.init)(jax.random.PRNGKey(0), jnp.zeros((1,) + shape))
  return model, params


def time_sampler(model, params, size: int, batch: int, naive: bool, repeats: int):
  """(best seconds per batch, samples) for one sampler; compiling excluded."""
  rng = jax.random.PRNGKey(1)
  run = lambda: jax.block_until_ready(
      samplers.sample(model, params, rng, (size, size, 1), batch, naive=naive))
  images, _ = run()  # compile and warm up
  best = np.inf
  for _ in range(repeats):
    t0 = time.perf_counter()
    run()
    best = min(best, time.perf_counter() - t0)
  return best, np.asarray(images)


def time_full_pass(model, params, size: int, batch: int, repeats: int) -> float:
  """Best seconds for one jitted full pass over a batch: one naive sampler step."""
  apply = jax.jit(model.apply)
  canvas = jnp.zeros((batch, size, size, 1))
  jax.block_until_ready(apply(params, canvas))
  best = np.inf
  for _ in range(repeats):
    t0 = time.perf_counter()
    jax.block_until_ready(apply(params, canvas))
    best = min(best, time.perf_counter() - t0)
  return best


def compare(arch: str, size: int, batch: int, repeats: int, naive_estimate: bool) -> dict:
  model, params = build(arch, size)
  fast, fast_images = time_sampler(model, params, size, batch, False, repeats)
  if naive_estimate:
    naive, agree = size * size * time_full_pass(model, params, size, batch, repeats), None
  else:
    naive, naive_images = time_sampler(model, params, size, batch, True, 1)
    agree = bool(np.array_equal(fast_images, naive_images))
  num_params = sum(x.size for x in jax.tree.leaves(params))
  return {'model': arch, 'pixels': size * size, 'params': int(num_params),
          'fast_s': fast, 'naive_s': naive, 'naive_estimated': naive_estimate,
          'speedup': naive / fast, 'fast_ms_per_image': 1e3 * fast / batch,
          'naive_ms_per_image': 1e3 * naive / batch, 'samples_agree': agree}


def naive_mark(row) -> str:
  return ' est.' if row['naive_estimated'] else '     '


def slope(pixels, seconds) -> float:
  """Exponent k of seconds ~ pixels^k, by least squares in log-log."""
  return float(np.polyfit(np.log(pixels), np.log(seconds), 1)[0])


def main(argv=None):
  args = parse_args(argv)
  archs = [a for a in args.models.split(',') if a]
  unknown = sorted(set(archs) - set(ARCHITECTURES))
  if unknown:
    raise ValueError(f'unknown models {unknown}; choose from {ARCHITECTURES}')
  sizes = [int(s) for s in args.transformer_sizes.split(',') if s]
  env = {'jax': jax.__version__, 'python': platform.python_version(),
         'devices': [str(d) for d in jax.devices()], 'cpu_count': os.cpu_count(),
         'XLA_FLAGS': os.environ.get('XLA_FLAGS', ''), 'loadavg_at_start': os.getloadavg()}
  print(__doc__.split('\n\n')[0])
  machine = print_machine_facts()
  print(f"jax {env['jax']} on {env['devices']}, {env['cpu_count']} CPUs, load average "
        f"{env['loadavg_at_start'][0]:.2f}; batch {args.batch}, {args.size}x{args.size} "
        f'images, fast best of {args.repeats}, naive '
        + ('estimated as N full passes' if args.naive_estimate else 'once'), flush=True)

  rows = []
  print()
  print(f"{'model':16s} {'params':>8s} {'fast s/batch':>13s} {'naive s/batch':>19s} "
        f"{'fast ms/img':>12s} {'naive ms/img':>13s} {'speedup':>8s}  same samples")
  print('-' * 105)
  for arch in archs:
    row = compare(arch, args.size, args.batch, args.repeats, args.naive_estimate)
    rows.append(row)
    agree = 'not run' if row['samples_agree'] is None else row['samples_agree']
    print(f"{arch:16s} {row['params']:8,d} {row['fast_s']:13.3f} {row['naive_s']:14.3f}"
          f"{naive_mark(row)} {row['fast_ms_per_image']:12.2f} "
          f"{row['naive_ms_per_image']:13.2f} {row['speedup']:7.1f}x  {agree}", flush=True)

  scaling = []
  if sizes:
    print()
    print('Transformer cost against sequence length N (fast: fixed-size key/value cache, '
          'every step attends over all N slots, masked):')
    print(f"{'image':>7s} {'N':>5s} {'fast s/batch':>13s} {'fast us/pixel':>14s} "
          f"{'naive s/batch':>19s} {'naive us/pixel':>15s} {'speedup':>8s}")
    for s in sizes:
      row = (next((r for r in rows if r['model'] == 'transformer' and r['pixels'] == s * s),
                  None) or compare('transformer', s, args.batch, args.repeats,
                                   args.naive_estimate))
      scaling.append(row)
      n = s * s
      per_pixel = lambda seconds: 1e6 * seconds / (n * args.batch)
      print(f"{f'{s}x{s}':>7s} {n:5d} {row['fast_s']:13.3f} {per_pixel(row['fast_s']):14.2f} "
            f"{row['naive_s']:14.3f}{naive_mark(row)} {per_pixel(row['naive_s']):15.2f} "
            f"{row['speedup']:7.1f}x", flush=True)
    if len(sizes) >= 2:
      pixels = [r['pixels'] for r in scaling]
      fits = {'fast': slope(pixels, [r['fast_s'] for r in scaling]),
              'naive': slope(pixels, [r['naive_s'] for r in scaling])}
      print(f"log-log slope of total cost against N: fast {fits['fast']:.2f}, naive "
            f"{fits['naive']:.2f} (1: linear; 2: quadratic; per pixel it is one less)")
      print('(the fast sampler is timed with its fixed-size cache: each step attends over all '
            'N slots, masked, so a slope near 2 means attention dominates the projections '
            'and MLP, whose total is linear in N)')
      env['transformer_slopes'] = fits

  env['loadavg_at_end'] = os.getloadavg()
  print(f"\nload average at start {env['loadavg_at_start'][0]:.2f}, at end "
        f"{env['loadavg_at_end'][0]:.2f} (timings are under that load)")
  if args.out:
    result = {'command': command_line('benchmarks.autoregressive_sampling', argv),
              'environment': env,
              'settings': {'batch': args.batch, 'size': args.size, 'repeats': args.repeats,
                           'transformer_sizes': sizes, 'naive_estimate': args.naive_estimate},
              'models': rows, 'transformer_scaling': scaling}
    write_json(args.out, result, machine)


if __name__ == '__main__':
  main()
