"""The training loop's own step as the benchmarks time it, and the one main of the
benchmarks that time it against one PyTorch step (vqvae_train, gan_train, glow_train).

`LoopStep` is what `genjax.training.assemble.assemble(family_def, config)` compiles, the
program the loop trains with (its update, its `unroll_steps`, its sharding), started from
`.initial_state()`, on batches built by `.batches(step)` before the clock starts so that
the data pipeline is not timed.
"""

from __future__ import annotations

import dataclasses
import os
import time
from typing import Any, Callable

import jax
import numpy as np

from benchmarks.harness import (Timer, arguments, begin, best_and_median, command_line, finish,
                                interleaved_repeats, load_images)
from benchmarks.conv_share import conv_flop_share
from genjax.training.assemble import assemble

GOAL = 0.8  # genjax / torch examples/s


def count(tree) -> int:
  return int(sum(np.size(x) for x in jax.tree.leaves(tree)))


class LoopStep:
  """The loop's compiled step for `config`, its initial state and `calls` calls' worth of
  its batches. Compiled ahead of time (`compile_s`: lowering and compiling, no call), so
  that whatever a lever swaps in while the step is traced must be in place while this is
  built. `conv_flop_share`: the convolutions' share of the compiled step's FLOPs
  (benchmarks/conv_share.py).
  """

  def __init__(self, family_def, config, calls: int = 8):
    self.assembled = a = assemble(family_def, config)
    self.config, self.family = config, a.family
    self.state = a.initial_state()
    self.init_params = jax.device_get(self.state.params)  # the step donates the state
    self.num_params = count(self.init_params)
    k = config.steps_per_call
    self.batches = [a.batches(c * k)[0] for c in range(calls)]
    jax.block_until_ready(self.batches)
    t0 = time.perf_counter()
    self.step = a.train_step.lower(self.state, self.batches[0], a.frozen).compile()
    self.compile_s = time.perf_counter() - t0
    self.conv_flop_share = conv_flop_share(self.step)
    self.per_call = k * config.batch_size
    self.calls, self.metrics = 0, None

  def run_n(self, n: int) -> None:
    state = self.state
    for _ in range(n):
      state, self.metrics = self.step(state, self.batches[self.calls % len(self.batches)],
                                      self.assembled.frozen)
      self.calls += 1
    self.state = jax.block_until_ready(state)

  def timer(self, min_time: float) -> Timer:
    """Examples per second of the step (its first call run by the Timer as a warm-up)."""
    return Timer(self.run_n, self.per_call, min_time)

  def last(self, metric: str = 'loss') -> float:
    """`metric` at the last step run; raises if a step of the last call was not finite."""
    if not np.asarray(self.metrics['finite']).all():
      raise FloatingPointError('non-finite loss in the genjax step')
    return float(np.asarray(self.metrics[metric])[-1])


def benchmark_config(get_config, variant: str, **changes):
  """configs/<name>.py's config for `variant`, unlocked, with `changes` ({'batch_size':
  64, 'model.conv': 'taps'}; None values are left alone) and no Fréchet distance (that is
  evaluation, never the step).

  The loop's intervals are zeroed: a benchmark times the step alone, and an interval the
  config sets for its own steps_per_call (eval_every=2340) would be refused under the
  benchmark's."""
  c = get_config(variant)
  c.unlock()
  if 'frechet_samples' in c.get('eval', {}):
    c.eval.frechet_samples = 0
  for interval in ('log_every', 'eval_every', 'ckpt_every', 'figures_every'):
    c[interval] = 0
  for path, value in changes.items():
    if value is not None:
      *parents, field = path.split('.')
      section = c
      for p in parents:
        section = section[p]
      setattr(section, field, value)
  return c


# ----------------------------------------------------------------------------- one step


@dataclasses.dataclass(frozen=True)
class OneStep:
  """A benchmark of the loop's step of a family against one PyTorch step.

  Attributes:
    module: the benchmark's module in benchmarks/ (and the stem of its files).
    config_file: configs/<name>.py, whose `variant` both sides train.
    family_def: the family.
    get_config: the config file's get_config.
    torch_implements: config -> {field: (its value, the value the torch side implements)}.
    torch_side: (config, images01, threads) -> the torch TorchTrain, built.
    counts: params -> parameter counts per part; `torch_counts` must give the same.
    torch_counts: the torch TorchTrain -> its parameter counts per part.
    facts: LoopStep -> what else the JSON records of the genjax side.
    losses: the metrics shown and recorded at the last step ('loss' -> last_loss).
    loss_note: one line saying what the losses are.
  """
  module: str
  config_file: str
  family_def: Any
  get_config: Callable
  torch_implements: Callable[[Any], dict]
  torch_side: Callable
  counts: Callable[[Any], dict]
  torch_counts: Callable[[Any], dict]
  facts: Callable[[LoopStep], dict] = lambda step: {}
  losses: tuple[str, ...] = ('loss',)
  loss_note: str = ''
  variant: str = 'cpu'


def parse_args(doc: str, argv=None, add_args=None):
  p = arguments(doc, 3, 5.0, quick='a smoke check in seconds: 2048 examples, one repeat of '
                '>= 0.2 s, steps_per_call 1 unless given')
  p.add_argument('--steps-per-call', type=int, default=0,
                 help="genjax steps fused per call; 0: the config's")
  p.add_argument('--max-examples', type=int, default=0,
                 help="the torch side's preloaded images (0: all)")
  p.add_argument('--skip-torch', action='store_true')
  p.add_argument('--torch-threads', type=int, default=0, help='0: one per CPU')
  if add_args:
    add_args(p)
  args = p.parse_args(argv)
  if args.quick:
    args.max_examples, args.repeats, args.min_time = args.max_examples or 2048, 1, 0.2
    args.steps_per_call = args.steps_per_call or 1
  return args


def check_torch_implements(bench: OneStep, config) -> None:
  wanted = bench.torch_implements(config)
  other = {k: v for k, (v, want) in wanted.items() if v != want}
  if other:
    raise ValueError(f'the torch side implements only {wanted}; '
                     f'{bench.config_file}:{bench.variant} has {other}')


def main(bench: OneStep, doc: str, argv=None, add_args=None, before=None):
  """Times the loop's step and the torch step, interleaved; prints the table and the
  ratio of medians, and writes --out. `before(args, config)` may end the run first (by
  returning True), for a benchmark's own extra mode."""
  args = parse_args(doc, argv, add_args)
  config = benchmark_config(bench.get_config, bench.variant,
                            steps_per_call=args.steps_per_call or None)
  check_torch_implements(bench, config)
  if before and before(args, config):
    return
  threads = args.torch_threads or os.cpu_count()
  env, machine = begin(doc, torch_threads=threads)
  print(f'{bench.config_file}:{bench.variant}, batch {config.batch_size}, genjax '
        f'steps_per_call {config.steps_per_call}; {args.repeats} interleaved repeats, each '
        f'timed >= {args.min_time:g} s; compiling and warming up ...', flush=True)

  genjax = LoopStep(bench.family_def, config)
  counts, facts = bench.counts(genjax.init_params), bench.facts(genjax)
  shown = lambda c: ', '.join(f'{k} {v:,}' for k, v in c.items())
  print(f'  genjax: {genjax.num_params:,} parameters ({shown(counts)}); '
        + ''.join(f'{k} {v}; ' for k, v in facts.items()) + 'step '
        f'compiled in {genjax.compile_s:.1f} s; data {genjax.assembled.data.description}',
        flush=True)
  timers, sides = {'genjax': genjax.timer(args.min_time)}, {'genjax': genjax}
  data_line = None
  if not args.skip_torch:
    images01, data_line = load_images(args.max_examples)
    sides['torch'] = torch = bench.torch_side(config, images01, threads)
    if bench.torch_counts(torch) != counts:
      raise AssertionError(f'genjax has parameters {shown(counts)}, torch '
                           f'{shown(bench.torch_counts(torch))}')
    print(f'  torch: the same parameter counts; data {data_line}', flush=True)
    timers['torch'] = Timer(torch.run_n, torch.batch, args.min_time, warm_up=3)

  raw, others = interleaved_repeats({k: t.rate for k, t in timers.items()}, args.repeats)
  best, median = best_and_median(raw)
  last = {name: {key: genjax.last(name) if key == 'genjax' else getattr(side, f'last_{name}')
                 for key, side in sides.items()} for name in bench.losses}
  print(f"\n{'side':8s} {'best ex/s':>10s} {'median ex/s':>12s} "
        + ''.join(f'{name:>10s} ' for name in bench.losses) + ' raw (ex/s)')
  for key in timers:
    print(f'{key:8s} {best[key]:10.1f} {median[key]:12.1f} '
          + ''.join(f'{last[name][key]:10.3f} ' for name in bench.losses)
          + ' ' + ', '.join(f'{v:.1f}' for v in raw[key]))
  ratio = per_repeat = goal_met = None
  if 'torch' in timers:
    ratio = median['genjax'] / median['torch']
    per_repeat = [a / b for a, b in zip(raw['genjax'], raw['torch'])]
    goal_met = ratio >= GOAL
    print(f'genjax / torch (medians): {ratio:.2f}x; per repeat: '
          + ', '.join(f'{v:.2f}' for v in per_repeat)
          + f"; goal >= {GOAL}x: {'MET' if goal_met else 'NOT MET'}")
  print(f'({bench.loss_note})')
  finish(args.out, {
      'command': command_line(f'benchmarks.{bench.module}', argv),
      'data': {'genjax': genjax.assembled.data.description, 'torch': data_line},
      'settings': {'config': f'{bench.config_file}:{bench.variant}',
                   'config_values': config.to_dict(), 'repeats': args.repeats,
                   'min_time_s': args.min_time, 'max_examples': args.max_examples,
                   'torch_threads': threads},
      'parameters': genjax.num_params, 'parameters_per_part': counts, **facts,
      'genjax_compile_s': genjax.compile_s,
      'genjax_conv_flop_share': genjax.conv_flop_share.record(),
      'examples_per_sec_best': best, 'examples_per_sec_median': median,
      'examples_per_sec_raw': raw, 'ratio_genjax_over_torch': ratio,
      'per_repeat_ratios': per_repeat, 'goal': f'genjax >= {GOAL}x torch',
      'goal_met': goal_met, **{f'last_{name}': v for name, v in last.items()},
  }, machine, others, env)
