"""How long the DDPM U-Net's run takes to start training, cold and from the persistent cache.

  .venv/bin/python -m benchmarks.compile_time [--variant cpu] [--out results.json]

Starts `experiments.diffusion` (configs/diffusion.py:<variant>, no Fréchet distance, one
step a call) twice, each in a new workdir, the first with an empty --compilation_cache and
the second with the cache the first filled, and stops each as soon as the loop logs that
the train step's first call is done. Records, per start: the seconds from launching the
process to that line (imports, data, init, compile and the first call: what a user waits
before training runs), the loop's own "compiled the train step and ran its first call in
X s", and the run's log up to there (its timestamps split the wait).
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time

from benchmarks.harness import command_line, print_machine_facts, write_json

FIRST_CALL = re.compile(r'compiled the train step and ran its first call in ([0-9.]+)s')


def parse_args(argv=None):
  p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
  p.add_argument('--variant', default='cpu', help="configs/diffusion.py's variant")
  p.add_argument('--timeout', type=float, default=600.0, help='seconds a start may take')
  p.add_argument('--out', default='')
  return p.parse_args(argv)


def start_training(variant: str, workdir: str, cache: str, timeout: float) -> dict:
  """Launches the experiment, waits for its first train call, stops it; what it took."""
  cmd = [sys.executable, '-m', 'experiments.diffusion',
         f'--config=configs/diffusion.py:{variant}', f'--workdir={workdir}',
         f'--compilation_cache={cache}', '--config.eval.frechet_samples=0',
         # One step a call: the compiled body is the same one step (the cpu variant does
         # not unroll), and the first call's own work (10 steps) does not hide when
         # training started.
         '--config.steps_per_call=1']
  t0 = time.perf_counter()
  proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
  lines = []
  try:
    for line in proc.stdout:
      lines.append(line)
      match = FIRST_CALL.search(line)
      if match:
        return {'command': ' '.join(cmd), 'seconds_to_first_call': time.perf_counter() - t0,
                'compile_and_first_call_s': float(match.group(1)), 'log': lines}
      if time.perf_counter() - t0 > timeout:
        break
    raise RuntimeError('the run ended or timed out before its first train call:\n'
                       + ''.join(lines[-20:]))
  finally:
    proc.kill()
    proc.wait()


def main(argv=None):
  args = parse_args(argv)
  machine = print_machine_facts()
  with tempfile.TemporaryDirectory() as tmp:
    cache = os.path.join(tmp, 'cache')
    starts = {}
    for name in ('cold', 'cached'):
      starts[name] = start_training(args.variant, os.path.join(tmp, name), cache, args.timeout)
      print(f"{name:6s}: training started {starts[name]['seconds_to_first_call']:.1f} s after "
            f"launch; compile and first call {starts[name]['compile_and_first_call_s']:.1f} s",
            flush=True)
  if args.out:
    write_json(args.out, {'command': command_line('benchmarks.compile_time', argv),
                          'variant': args.variant, **starts}, machine)


if __name__ == '__main__':
  main()
