"""How long a checkpoint save holds up training: Orbax's asynchronous save against a
blocking one, on the loop's own step and its own `Checkpointer`.

    .venv/bin/python -m benchmarks.checkpoint_stall --out=results/benchmarks/checkpoint_stall.json

The model is the Fashion-MNIST VAE made wide (two hidden layers of 2,048), so that its
train state (params, EMA and both Adam moments) is over 50 MB. Each measurement trains
`--calls` compiled calls twice from the same state: once plain, once with a save issued
after the first call exactly as the loop issues it. The stall is the difference in
training time, which counts what a background write takes from the step as well; how
long the save call itself held the loop is recorded beside it.
Both ways are measured in turn each repeat, on one idle machine.
"""

from __future__ import annotations

import shutil
import tempfile
import time

import jax

from benchmarks.harness import arguments, begin, finish, interleaved_repeats
from benchmarks.loop_step import LoopStep, benchmark_config
from configs import vae as vae_config
from genjax.families import vae as vae_family
from genjax.training.checkpoint import Checkpointer


def state_megabytes(state) -> float:
  return sum(x.size * x.dtype.itemsize for x in jax.tree.leaves(state)) / 2**20


class SaveStall:
  """Seconds of `calls` calls with a save after the first, less the same without it."""

  def __init__(self, step: LoopStep, calls: int, asynchronous: bool):
    self.step, self.calls, self.asynchronous = step, calls, asynchronous
    self.save_call_seconds = []  # how long `save` held the caller

  def _train(self, save_into: str | None) -> float:
    t0 = time.perf_counter()
    self.step.run_n(1)
    if save_into is not None:
      checkpointer = Checkpointer(save_into, keep=1, signature={'family': 'vae'},
                                  asynchronous=self.asynchronous)
      saved_at = time.perf_counter()
      checkpointer.save(self.step.state, data_position=self.step.calls)
      self.save_call_seconds.append(time.perf_counter() - saved_at)
    self.step.run_n(self.calls - 1)
    seconds = time.perf_counter() - t0
    if save_into is not None:
      checkpointer.wait()
      checkpointer.close()
    return seconds

  def __call__(self) -> float:
    plain = self._train(None)
    workdir = tempfile.mkdtemp(prefix='genjax-stall-')
    try:
      return self._train(workdir) - plain
    finally:
      shutil.rmtree(workdir, ignore_errors=True)


def main():
  p = arguments(__doc__, repeats=5)
  p.add_argument('--calls', type=int, default=10, help='compiled calls per measurement')
  args = p.parse_args()
  env, machine = begin(__doc__)
  config = benchmark_config(vae_config.get_config, 'cpu', **{
      'model.hidden': (2048, 2048), 'steps_per_call': 1, 'batch_size': 100,
      'ema_decay': 0.999})
  step = LoopStep(vae_family.FAMILY, config)
  megabytes = state_megabytes(step.state)
  print(f'train state {megabytes:.0f} MB; step compiled in {step.compile_s:.1f} s', flush=True)
  stalls = {'blocking': SaveStall(step, args.calls, asynchronous=False),
            'asynchronous': SaveStall(step, args.calls, asynchronous=True)}
  for stall in stalls.values():  # warm-up: Orbax's own first-save costs
    stall()
    stall.save_call_seconds.clear()
  raw, others = interleaved_repeats(stalls, args.repeats)
  result = {'state_megabytes': megabytes, 'calls': args.calls,
            'stall_seconds': raw,
            'save_call_seconds': {key: s.save_call_seconds for key, s in stalls.items()}}
  for key in stalls:
    median = sorted(raw[key])[len(raw[key]) // 2]
    calls = sorted(stalls[key].save_call_seconds)
    print(f'{key:>12}: stall {median:.3f} s (median of {len(raw[key])}), of which the save '
          f'call held training {calls[len(calls) // 2]:.3f} s', flush=True)
  finish(args.out, result, machine, others, env)


if __name__ == '__main__':
  main()
