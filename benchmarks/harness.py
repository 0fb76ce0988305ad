"""What every benchmark here shares, so that their numbers are taken and recorded alike.

Timing: `time_calls` runs a measurement long enough to time; `interleaved_repeats` runs all
of a benchmark's measurements in turn each repeat, so that a burst of background load hits
every one of them, and records how much of the CPUs other processes took meanwhile
(`machine_busy`, `others_line`, `BUSY_WARNING` report it). Recording: `machine_facts` (CPU,
vector extensions, load, library versions), printed at the start by `print_machine_facts`
and stored by `write_json`, the one writer of every --out JSON. Data: `load_data`, the
binarised 28x28 images the VAE and autoregressive benchmarks train on.
"""

from __future__ import annotations

import importlib.metadata
import json
import math
import os
import sys
import time
from typing import Any, Mapping

import numpy as np

FASHION_MNIST_DIR = '/usr/share/datasets/fashion-mnist'
IMAGE_SHAPE = (28, 28, 1)  # one image of load_data
BUSY_OTHERS = 0.10      # others' share of all CPU time above which timings are unreliable
BUSY_WARNING = ('WARNING: other processes were competing for the CPUs during this run; the '
                'timings and ratios above are not trustworthy. Rerun on an idle machine.')
VECTOR_EXTENSIONS = ('avx2', 'avx512f', 'avx512_bf16', 'amx_tile')  # as /proc/cpuinfo names them


# ----------------------------------------------------------------------------- data


def load_data(max_examples: int = 0):
  """Binarised images float32 [N, 28, 28, 1] in {0, 1}, and a line saying where from."""
  if os.path.isdir(FASHION_MNIST_DIR):
    from genjax.data import load_image_dataset  # pylint: disable=g-import-not-at-top
    from genjax.data.pipeline import binarize_static  # pylint: disable=g-import-not-at-top
    arrays = load_image_dataset('fashion_mnist', 'train')
    images = binarize_static(arrays.images / 255, 0)
    what = (f'real data: Fashion-MNIST {arrays.split} ({arrays.source}), '
            f'statically binarised (seed 0)')
  else:
    rng = np.random.default_rng(0)
    images = (rng.random((60000,) + IMAGE_SHAPE, dtype=np.float32) < 0.5).astype(np.float32)
    what = f'RANDOM binary data ({FASHION_MNIST_DIR} not found)'
  images = np.ascontiguousarray(images, dtype=np.float32)
  if max_examples:
    images = images[:max_examples]
  return images, f'{what}; {len(images)} examples'


# ----------------------------------------------------------------------------- timing


def time_calls(run_n, min_time: float, n: int = 1) -> tuple[int, float]:
  """Runs `run_n(n)` (which must block before returning) with n large enough to take at
  least `min_time` seconds; returns (n, seconds). Starting from the given n (the count an
  earlier repeat settled on), n grows until one timed run lasts long enough."""
  while True:
    t0 = time.perf_counter()
    run_n(n)
    dt = time.perf_counter() - t0
    if dt >= min_time:
      return n, dt
    if dt < 0.05 * min_time:  # calibration: too short to extrapolate reliably
      n = max(n * 4, 1)
      continue
    n = math.ceil(n * 1.15 * min_time / dt)


def _busy_cpu_seconds() -> float | None:
  """CPU seconds all processes have spent busy since boot (Linux /proc/stat), or None."""
  try:
    with open('/proc/stat') as f:
      fields = f.readline().split()[1:]
    user, nice, system, _, _, irq, softirq, steal = (int(v) for v in fields[:8])
    return (user + nice + system + irq + softirq + steal) / os.sysconf('SC_CLK_TCK')
  except (OSError, ValueError):
    return None


def _own_cpu() -> float:
  t = os.times()
  return t.user + t.system + t.children_user + t.children_system


class OtherLoad:
  """Share of the machine's CPU time that other processes took while the block ran."""

  def __enter__(self):
    self.wall, self.all, self.own = time.perf_counter(), _busy_cpu_seconds(), _own_cpu()
    return self

  def __exit__(self, *exc):
    wall = time.perf_counter() - self.wall
    total = _busy_cpu_seconds()
    if total is None or self.all is None:
      self.fraction = None
    else:
      others = (total - self.all) - (_own_cpu() - self.own)
      self.fraction = max(0.0, others / (wall * (os.cpu_count() or 1)))


def interleaved_repeats(measures: dict, repeats: int) -> tuple[dict, list]:
  """Calls every measure (no arguments, returns a rate) once a repeat, in turn, so that a
  burst of background load hits all of them; returns ({key: [rate per repeat]}, [others'
  CPU share per repeat, None where unknown])."""
  raw, others = {key: [] for key in measures}, []
  for r in range(repeats):
    with OtherLoad() as load:
      for key, measure in measures.items():
        raw[key].append(measure())
    others.append(load.fraction)
    shown = 'unknown' if load.fraction is None else f'{load.fraction:.0%}'
    print(f'  repeat {r + 1}/{repeats} done; other processes took {shown} of the CPUs',
          flush=True)
  return raw, others


def machine_busy(others: list) -> bool:
  # When something else competes for the cores, the numbers (torch's OpenMP threads
  # especially, which collapse when descheduled) are not comparable.
  known = [o for o in others if o is not None]
  return bool(known) and max(known) > BUSY_OTHERS


def report_load(env: dict, others: list, busy: bool) -> None:
  """Records the end-of-run load in `env` and prints it, with BUSY_WARNING when busy."""
  env['loadavg_at_end'] = os.getloadavg()
  env['other_processes_cpu_share_per_repeat'] = others
  print(f"load average at start {env['loadavg_at_start'][0]:.2f}, at end "
        f"{env['loadavg_at_end'][0]:.2f}; other processes' share of the CPUs per repeat: "
        + others_line(others))
  if busy:
    print(BUSY_WARNING)


def finish(out: str, result: Mapping[str, Any], machine: dict, others: list) -> bool:
  """The end of a run: prints the load (with BUSY_WARNING when busy) and, if `out` is set,
  writes `result` with the busy flag and the load to it. Returns whether it was busy."""
  busy = machine_busy(others)
  env = {'loadavg_at_start': (machine.get('loadavg_1min') or 0.0,)}
  report_load(env, others, busy)
  if out:
    write_json(out, {**result, 'busy': busy, **env}, machine)
  return busy


def others_line(others: list) -> str:
  return ', '.join('?' if o is None else f'{o:.0%}' for o in others)


# ----------------------------------------------------------------------------- machine


def jax_environment(**extra) -> dict[str, Any]:
  """What a JAX benchmark records of its run: versions, devices, XLA_FLAGS, the load."""
  import platform  # pylint: disable=g-import-not-at-top
  import jax  # pylint: disable=g-import-not-at-top
  return {'jax': jax.__version__, 'python': platform.python_version(),
          'devices': [str(d) for d in jax.devices()], 'cpu_count': os.cpu_count(), **extra,
          'XLA_FLAGS': os.environ.get('XLA_FLAGS', ''), 'loadavg_at_start': os.getloadavg()}


def _first_cpu_fields(path: str = '/proc/cpuinfo') -> dict[str, str] | None:
  """The first processor's 'model name' and 'flags' lines of cpuinfo, or None if unreadable.
  The other processors repeat them, so reading stops once both are found."""
  fields = {}
  try:
    with open(path, errors='replace') as f:
      for line in f:
        key, _, value = line.partition(':')
        key = key.strip()
        if key in ('model name', 'flags') and key not in fields:
          fields[key] = value.strip()
          if len(fields) == 2:
            break
  except OSError:
    return None
  return fields


def _installed_version(package: str) -> str | None:
  # From the installed metadata, so that recording a version never imports the package.
  try:
    return importlib.metadata.version(package)
  except importlib.metadata.PackageNotFoundError:
    return None


def machine_facts(cpuinfo_path: str = '/proc/cpuinfo') -> dict:
  """What the machine is: CPU model, which of VECTOR_EXTENSIONS it has, CPU count, 1-minute
  load average, and the jax, jaxlib, flax and torch versions (None where not installed).
  Cheap, and never raises: what cannot be read is None."""
  cpu = _first_cpu_fields(cpuinfo_path)
  flags = None if cpu is None or 'flags' not in cpu else set(cpu['flags'].split())
  try:
    load = os.getloadavg()[0]
  except OSError:
    load = None
  return {
      'cpu_model': None if cpu is None else cpu.get('model name'),
      'vector_extensions': None if flags is None else [
          e for e in VECTOR_EXTENSIONS if e in flags],
      'cpu_count': os.cpu_count(),
      'loadavg_1min': load,
      **{package: _installed_version(package) for package in ('jax', 'jaxlib', 'flax', 'torch')},
  }


def _shown(value) -> str:
  if value is None:
    return 'unknown'
  if isinstance(value, list):
    return ','.join(value) or 'none'
  return str(value)


def print_machine_facts() -> dict:
  """Prints machine_facts() in one line and returns them, for write_json."""
  facts = machine_facts()
  print('machine: ' + ' '.join(f'{key}={_shown(value)}' for key, value in facts.items()),
        flush=True)
  return facts


# ----------------------------------------------------------------------------- output


def command_line(module: str, argv=None) -> str:
  """How this run was started, for the --out JSON."""
  return f'python -m {module} ' + ' '.join(argv if argv is not None else sys.argv[1:])


def write_json(path: str, result: Mapping[str, Any], machine: dict | None = None) -> None:
  """Writes `result` to `path` (making its folder), with the machine's facts under
  'machine': `machine` (those printed at the start) or, if not given, taken now. Values
  JSON lacks are written as str, so that every benchmark's file reads alike."""
  os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
  with open(path, 'w') as f:
    json.dump({**result, 'machine': machine if machine is not None else machine_facts()},
              f, indent=2, default=str)
  print(f'wrote {path}')
