"""Autoregressive sampling speed: the fast samplers against the naive one, in one run.

Command (from the repository root):

  .venv/bin/python -m benchmarks.autoregressive_sampling [--batch 16] [--out results.json]

What is timed: `genjax.samplers.autoregressive.sample`, jitted, drawing one batch of
--batch images of --size x --size pixels, with random-init parameters of the networks the
'cpu' configs train (`get_config('<arch>,cpu').model`, built by `make_model`), compiling
excluded; the fast sampler's time is the best of --repeats calls, the naive one's a single
call. Both draw from the same key and the run checks that their samples agree.

* fast: the model's `decode_step`: cached convolutions (PixelCNN, Gated PixelCNN), the
  key/value cache (Transformer), the recurrent state (LSTM);
* naive: the full network on the whole canvas at every position (N full passes); with
  --naive-estimate it is not run but taken as N times one jitted full pass (marked 'est.').

The Transformer is also timed at several sequence lengths N (--transformer-sizes): the
table gives the cost per pixel and the log-log slope of the total cost against N. Its
key/value cache has N slots and every step attends over all of them, masked, so the slope
lies between 1 and 2 (nearer 2 the more attention dominates); the naive sampler's is up
to 3.
"""

from __future__ import annotations


import jax
import jax.numpy as jnp
import numpy as np

from configs.autoregressive import get_config
from benchmarks.harness import CallTimer, arguments, begin, command_line, finish
from genjax.models.autoregressive import ARCHITECTURES, make_model
from genjax.samplers import autoregressive as samplers

CONFIG_VARIANT = {'pixelcnn': 'pixelcnn', 'gated_pixelcnn': 'gated',
                  'transformer': 'transformer', 'lstm': 'lstm'}


def parse_args(argv=None):
  p = arguments(__doc__)  # --repeats: the fast sampler's best of; --min-time unused
  p.add_argument('--batch', type=int, default=16, help='images per sampled batch')
  p.add_argument('--size', type=int, default=28, help='image side, in pixels')
  p.add_argument('--models', default=','.join(ARCHITECTURES),
                 help='comma-separated architectures from ' + ', '.join(ARCHITECTURES))
  p.add_argument('--transformer-sizes', default='8,14,20,28',
                 help='image sides for the Transformer cost-vs-N table (empty: skip it)')
  p.add_argument('--naive-estimate', action='store_true',
                 help='naive time = N x one full pass, instead of running the naive sampler')
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
  timer = CallTimer(lambda: samplers.sample(model, params, rng, (size, size, 1), batch,
                                            naive=naive))
  return min(timer.seconds() for _ in range(repeats)), np.asarray(timer.out[0])


def time_full_pass(model, params, size: int, batch: int, repeats: int) -> float:
  """Best seconds for one jitted full pass over a batch: one naive sampler step."""
  apply, canvas = jax.jit(model.apply), jnp.zeros((batch, size, size, 1))
  timer = CallTimer(lambda: apply(params, canvas))
  return min(timer.seconds() for _ in range(repeats))


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
  env, machine = begin(__doc__)
  print(f'batch {args.batch}, {args.size}x{args.size} images, fast best of {args.repeats}, '
        'naive ' + ('estimated as N full passes' if args.naive_estimate else 'once'),
        flush=True)

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

  finish(args.out, {
      'command': command_line('benchmarks.autoregressive_sampling', argv),
      'settings': {'batch': args.batch, 'size': args.size, 'repeats': args.repeats,
                   'transformer_sizes': sizes, 'naive_estimate': args.naive_estimate},
      'models': rows, 'transformer_scaling': scaling}, machine, [], env)


if __name__ == '__main__':
  main()
