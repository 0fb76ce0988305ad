"""Character model sampling speed: the KV-cached sampler against the naive one.

Command (from the repository root; the .txt beside the JSON is this output, through tee):

  .venv/bin/python -m benchmarks.char_lm_sampling [--workdir runs/char_lm] \
      --out results/benchmarks/char_lm_sampling.json | tee results/benchmarks/char_lm_sampling.txt

What is timed: `genjax.samplers.autoregressive.sample` drawing --batch windows of the
configs/char_lm.py:cpu context (no prompt) at temperature 0.8, jitted, compiling excluded:
cached (the Transformer's `decode_step` against its key/value cache) and naive (the full
network over the whole window at every position). The network is the cpu config's, with
a trained run's params when --workdir names one, else random init with gcide's K (a
sampler's cost is the same whatever the weights). Both draw from the same key and the run
checks that their characters agree. Reported: characters/s, interleaved repeats, and the
cached sampler's speed-up.
"""

from __future__ import annotations


import jax
import jax.numpy as jnp
import numpy as np

from benchmarks.harness import (CallTimer, arguments, begin, command_line, finish,
                                interleaved_repeats)
from benchmarks.loop_step import count
from configs import char_lm as char_lm_config
from genjax.models.autoregressive import make_model
from genjax.models import pixels
from genjax.samplers import autoregressive as samplers
from genjax.training import restore

GCIDE_SYMBOLS = 89  # configs/char_lm.py:cpu's vocabulary: 88 characters and the unknown one
TEMPERATURE = 0.8


def parse_args(argv=None):
  p = arguments(__doc__, quick='a smoke check in seconds: batch 2, one repeat of >= 0.1 s')
  p.add_argument('--workdir', default='', help='a trained char_lm run; empty: random init')
  p.add_argument('--batch', type=int, default=16, help='windows drawn per call')
  return p.parse_args(argv)


def model_and_params(workdir: str):
  """(model, params, facts) of the cpu config's network: a trained run's or random init."""
  if workdir:
    run = restore.load_run(workdir, family='char_lm',
                           train_command='python -m experiments.char_lm')
    m, context = run.config.model, run.config.data.context
    k, params = len(run.signature['vocabulary']), run.eval_params
    source = f'trained run {run.workdir} at step {run.step}'
  else:
    c = char_lm_config.get_config('cpu')
    m, context, k = c.model, c.data.context, GCIDE_SYMBOLS
    params, source = None, 'random init'
  model = make_model(m, (1, context, 1), 0, num_codes=k)
  if params is None:
    params = jax.jit(model.init)(jax.random.PRNGKey(0), jnp.zeros((1, 1, context, 1)))
  return model, params, {'params_from': source, 'context': context, 'symbols': k,
                         'params': count(params), 'layers': m.num_layers, 'dim': m.dim}


def main(argv=None):
  args = parse_args(argv)
  if args.quick:
    args.batch, args.repeats, args.min_time = 2, 1, 0.1
  env, machine = begin(__doc__)
  model, params, facts = model_and_params(args.workdir)
  t = facts['context']
  print(f'batch {args.batch} windows of {t} characters, temperature {TEMPERATURE:g}; '
        f'{args.repeats} interleaved repeats, each timed >= {args.min_time:g} s; '
        f"{facts['params_from']}, {facts['params']:,} params; compiling and warming up ...",
        flush=True)
  key = jax.random.PRNGKey(1)
  draw = lambda naive: lambda: samplers.sample(model, params, key, (1, t, 1), args.batch,
                                               naive=naive, temperature=TEMPERATURE)[0]
  timed = {'cached': CallTimer(draw(False), args.batch, args.min_time),
           'naive': CallTimer(draw(True), args.batch, args.min_time)}
  codes = {name: np.asarray(pixels.codes_from_canvas(m.out, facts['symbols']))
           for name, m in timed.items()}
  agree = bool(np.array_equal(codes['cached'], codes['naive']))
  raw, others = interleaved_repeats({n: m.seconds for n, m in timed.items()}, args.repeats)
  chars_per_s = {n: [t / v for v in vals] for n, vals in raw.items()}  # v: s per window
  median = {n: float(np.median(v)) for n, v in chars_per_s.items()}
  print()
  print(f"{'sampler':10s} {'median chars/s':>15s}  per repeat (chars/s)")
  print('-' * 60)
  for name, rates in chars_per_s.items():
    print(f'{name:10s} {median[name]:15.1f}  ' + ', '.join(f'{v:.1f}' for v in rates))
  speedup = median['cached'] / median['naive']
  print(f'\ncached: {speedup:.1f}x the naive sampler\'s characters/s; same characters drawn: '
        f'{agree}')
  finish(args.out, {
      'command': command_line('benchmarks.char_lm_sampling', argv),
      'settings': {'batch': args.batch, 'repeats': args.repeats, 'min_time': args.min_time,
                   'temperature': TEMPERATURE},
      'model': facts, 'chars_per_s': chars_per_s, 'median_chars_per_s': median,
      'speedup': speedup, 'same_characters': agree}, machine, others, env)


if __name__ == '__main__':
  main()
