"""Where word2vec's training step spends its time, part by part, with either sampler.

  .venv/bin/python -m benchmarks.word2vec_profile \
      --out results/benchmarks/word2vec_profile.json | tee results/benchmarks/word2vec_profile.txt

configs/word2vec.py on dict-gcide (46k words, batch 4,096 pairs, 20 fused steps a call),
each part timed alone, in milliseconds per step (a call's time over its steps):

* host draw: `SkipGramStream.stacked`, the NumPy pairs of one call (the host sampler);
* transfer: those pairs put on the devices as the loop puts them (`mesh.global_batch`);
* device draw: `skipgram_device.draw_pairs` alone, jitted (the device sampler's share);
* gathers, gradients, scatter-adds: the family's update taken apart on one step's pairs,
  each jitted alone (the W and C rows; `negative_sampling_row_grads`; `apply_row_grads`
  with the tables donated, in place);
* whole step: the loop's compiled call (`assemble`) on batches made before the clock,
  for each sampler; and as the loop runs it, the next call's batches drawn on the host
  while the last call runs.

The parts, jitted alone, each pay a call's dispatch and lose the fusion of the whole step,
so they need not sum to it. Measurements are interleaved (`benchmarks/harness.py`);
medians over repeats. `--batch-size` and `--steps-per-call` time a larger fused call.

Levers, timed beside the parts they would replace:
* scatter-adds, one stacked table: the two tables laid out as one [2V, d] table (C's rows
  after W's), so one scatter takes all of a step's rows; the ids and row gradients are
  concatenated inside the timed call, as a step would have to;
* scatter-adds, rows padded to 128: the tables' rows padded from d to a multiple of 128
  floats (512-byte rows), the row gradients given already padded, so this times the
  scatter alone, an upper bound on what the layout could buy;
* whole step, host sampler, FUSED_CALLS x the steps a call: a larger fused call, the host
  drawing that many more steps' pairs at once.
"""

from __future__ import annotations

import argparse

import jax
import jax.numpy as jnp
import numpy as np

from benchmarks import loop_step
from benchmarks.harness import (CallTimer, Timer, arguments, begin, best_and_median,
                                command_line, finish, interleaved_repeats)
from configs import word2vec as word2vec_config
from genjax.families import word2vec
from genjax.objectives import word2vec as objectives
from genjax.training import mesh as mesh_lib
from genjax.training import sparse_sgd
from genjax.training.assemble import assemble

CALLS = 4  # distinct calls' batches cycled through by the timed steps
FUSED_CALLS = 5  # the larger fused call's steps, in calls of the config's


def parse(argv=None):
  p = arguments(__doc__, repeats=3, min_time=1.0)
  p.add_argument('--max-chars', type=int, default=0, help="use only the text's start")
  p.add_argument('--batch-size', type=int, default=0, help="0: the config's")
  p.add_argument('--steps-per-call', type=int, default=0, help="0: the config's")
  return p.parse_args(argv)


def config_for(args, sampler: str):
  return loop_step.benchmark_config(
      word2vec_config.get_config, '', batch_size=args.batch_size or None,
      steps_per_call=args.steps_per_call or None,
      **{'data.max_chars': args.max_chars or None, 'data.sampler': sampler})


class Sampler:
  """The loop's program for one sampler: its step on batches made before the clock, and
  the step as the loop runs it."""

  def __init__(self, config):
    self.a = a = assemble(word2vec.FAMILY, config)
    self.k = config.steps_per_call
    self.batches = [a.batches(c * self.k)[0] for c in range(CALLS)]
    self.state = a.initial_state()
    self.calls = 0

  def run_step(self, n: int, draw: bool = False) -> None:
    a, state = self.a, self.state
    for _ in range(n):
      c = self.calls % CALLS
      batches = a.batches(c * self.k)[0] if draw else self.batches[c]
      state, _ = a.train_step(state, batches, a.frozen)
      self.calls += 1
    self.state = jax.block_until_ready(state)


def host_parts(host: Sampler, min_time: float) -> dict:
  """Timers of the host's draw and transfer, and of the update's gathers, gradients and
  scatter-adds on one step's pairs."""
  a, k = host.a, host.k
  stream = a.data.train
  draw_step = iter(range(10**9))
  timers = {'host draw': Timer(lambda n: [stream.stacked(next(draw_step) * k, k)
                                          for _ in range(n)], k, min_time)}
  local = [stream.stacked(c * k, k) for c in range(CALLS)]
  put = iter(range(10**9))
  timers['transfer'] = CallTimer(
      lambda: mesh_lib.global_batch(local[next(put) % CALLS], a.mesh, batch_axis=1), k,
      min_time)

  batch = jax.device_put({key: v[0] for key, v in local[0].items()})
  ids = {'center': batch['center'],
         'context': jnp.concatenate([batch['context'][:, None], batch['negatives']], 1)}
  params = jax.device_put(jax.device_get(host.state.params))
  gather = jax.jit(sparse_sgd.gather_rows)
  rows = gather(params, ids)
  mask = objectives.negative_mask(batch['context'], batch['negatives'])
  grads = jax.jit(lambda r, m: objectives.negative_sampling_row_grads(
      r['center'], r['context'][:, 0], r['context'][:, 1:], m))
  _, d_center, d_context = grads(rows, mask)
  scatter = jax.jit(lambda p, i, g: sparse_sgd.apply_row_grads(p, i, g, 1e-3),
                    donate_argnums=0)
  row_grads = {'center': d_center, 'context': d_context}
  timers['gathers'] = CallTimer(lambda: gather(params, ids), 1, min_time)
  timers['gradients'] = CallTimer(lambda: grads(rows, mask), 1, min_time)
  tables = {'params': jax.tree.map(jnp.copy, params)}  # donated, so not params

  def scatter_n(n):
    for _ in range(n):
      tables['params'] = scatter(tables['params'], ids, row_grads)
    jax.block_until_ready(tables['params'])

  timers['scatter-adds'] = Timer(scatter_n, 1, min_time)
  timers.update(scatter_layouts(params, ids, row_grads, min_time))
  return timers


def scatter_layouts(params, ids, row_grads, min_time: float) -> dict:
  """Timers of the scatter-adds in the two other layouts (the module's levers)."""
  v, d = params['center'].shape
  lr = 1e-3

  def stacked_add(table, ids, grads):
    rows = jnp.concatenate([ids['center'], ids['context'].reshape(-1) + v])
    step = jnp.concatenate([grads['center'], grads['context'].reshape(-1, d)])
    return table.at[rows].add(-lr * step, mode='promise_in_bounds')

  width = -(-d // 128) * 128
  pad = lambda x: jnp.pad(x, [(0, 0)] * (x.ndim - 1) + [(0, width - d)])
  padded_grads = {name: pad(g) for name, g in row_grads.items()}
  layouts = {
      'one stacked table': (jax.jit(stacked_add, donate_argnums=0),
                            jnp.concatenate([params['center'], params['context']]),
                            row_grads),
      f'rows padded to {width}': (
          jax.jit(lambda p, i, g: sparse_sgd.apply_row_grads(p, i, g, lr), donate_argnums=0),
          {name: pad(t) for name, t in params.items()}, padded_grads)}
  timers = {}
  for name, (scatter, table, grads) in layouts.items():
    held = {'table': table}

    def scatter_n(n, scatter=scatter, held=held, grads=grads):
      for _ in range(n):
        held['table'] = scatter(held['table'], ids, grads)
      jax.block_until_ready(held['table'])

    timers[f'scatter-adds, {name}'] = Timer(scatter_n, 1, min_time)
  return timers


def device_draw(device: Sampler, min_time: float) -> Timer:
  stream = device.a.data.train
  draw = jax.jit(stream.draw)
  tables = device.a.frozen
  step = iter(range(10**9))
  return CallTimer(lambda: draw(tables, np.int32(next(step)), np.int32(0)), 1, min_time)


def main(argv=None):
  args = parse(argv)
  env, machine = begin(__doc__)
  samplers = {name: Sampler(config_for(args, name)) for name in ('host', 'device')}
  host = samplers['host']
  fused = argparse.Namespace(**{**vars(args), 'steps_per_call': FUSED_CALLS * host.k})
  samplers[f'host sampler, {FUSED_CALLS * host.k} steps a call'] = Sampler(
      config_for(fused, 'host'))
  c = host.a.config
  print(f"{c.data.corpus}: vocabulary {host.a.data.info.vocab_size:,}, batch {c.batch_size} "
        f'pairs, {c.steps_per_call} steps a call, {c.objective.num_negatives} negatives, '
        f'dim {c.model.dim}', flush=True)
  timers = host_parts(host, args.min_time)
  timers['device draw'] = device_draw(samplers['device'], args.min_time)
  for name, s in samplers.items():
    name = name if ' ' in name else f'{name} sampler'
    timers[f'whole step, {name}'] = Timer(s.run_step, s.k, args.min_time)
    timers[f'whole step as the loop runs it, {name}'] = Timer(
        lambda n, s=s: s.run_step(n, draw=True), s.k, args.min_time)
  measures = {name: (lambda t=t: 1e3 * t.seconds()) for name, t in timers.items()}
  raw, others = interleaved_repeats(measures, args.repeats)
  best, median = best_and_median(raw, best=min)
  pairs = c.batch_size
  print(f'\n| part | ms per step (median of {args.repeats}) | best | pairs/s at the median |')
  print('|---|---|---|---|')
  rows = {}
  for name in raw:
    rows[name] = {'ms_per_step': median[name], 'best_ms_per_step': best[name],
                  'per_repeat_ms': raw[name], 'pairs_per_sec': pairs / median[name] * 1e3}
    print(f"| {name} | {median[name]:.3f} | {best[name]:.3f} | "
          f"{rows[name]['pairs_per_sec']:,.0f} |")
  finish(args.out, {'command': command_line('benchmarks.word2vec_profile', argv),
                    'batch_size': pairs, 'steps_per_call': c.steps_per_call,
                    'vocabulary': host.a.data.info.vocab_size, 'parts': rows},
         machine, others, env)


if __name__ == '__main__':
  main()
