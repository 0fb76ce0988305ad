"""What every benchmark here shares, so that their numbers are taken and recorded alike.

Data: `load_images`, the one image loader. Timing: `Timer` (and `CallTimer`) times a
callable that blocks, with enough calls to last a minimum time; `interleaved_repeats` runs
all of a benchmark's measurements in turn each repeat, so that a burst of background load
hits every one of them, and records how much of the CPUs other processes took meanwhile.
A run: `arguments` (the common flags), `begin` (the machine's facts and the environment,
printed) and `finish` (the load, BUSY_WARNING, and the --out JSON through `write_json`).
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import math
import os
import sys
import time
from typing import Any, Callable, Mapping

import numpy as np

BUSY_OTHERS = 0.10      # others' share of all CPU time above which timings are unreliable
BUSY_WARNING = ('WARNING: other processes were competing for the CPUs during this run; the '
                'timings and ratios above are not trustworthy. Rerun on an idle machine.')
VECTOR_EXTENSIONS = ('avx2', 'avx512f', 'avx512_bf16', 'amx_tile')  # as /proc/cpuinfo names them


# ----------------------------------------------------------------------------- data


def load_images(max_examples: int = 0, binarize: bool = False,
                name: str = 'fashion_mnist') -> tuple[np.ndarray, str]:
  """The train images of dataset `name` as float32 [N, H, W, C] in [0, 1] (k/255), or
  statically binarised (seed 0) with `binarize`; the first `max_examples` (0: all); and a
  line saying what they are."""
  from genjax.data import load_image_dataset  # pylint: disable=g-import-not-at-top
  from genjax.data.pipeline import binarize_static  # pylint: disable=g-import-not-at-top
  arrays = load_image_dataset(name, 'train')
  images = arrays.images[:max_examples] if max_examples else arrays.images
  images = np.ascontiguousarray(images, np.float32) / 255.0
  if binarize:
    images = np.ascontiguousarray(binarize_static(images, 0), np.float32)
  return images, (f"{name} {arrays.split} ({arrays.source}), "
                  f"{'statically binarised' if binarize else '8-bit as k/255'}; "
                  f'{len(images)} examples')


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


class Timer:
  """Times `run_n(n)`, which makes n calls and blocks until they are done, each call
  `per_call` units (examples, images, fits).

  Built, it makes `warm_up` calls (compiling, warming caches) and records the seconds they
  took (`first_call_s`). `rate()` times enough calls to last at least `min_time` seconds
  (0: one call), starting from the count the last repeat settled on, and returns units
  per second; `seconds()` is its inverse. Hand either to `interleaved_repeats`.
  """

  def __init__(self, run_n: Callable[[int], Any], per_call: float = 1.0,
               min_time: float = 0.0, warm_up: int = 1):
    self.run_n, self.per_call, self.min_time, self.n = run_n, per_call, min_time, 1
    t0 = time.perf_counter()
    if warm_up:
      run_n(warm_up)
    self.first_call_s = time.perf_counter() - t0

  def rate(self) -> float:
    self.n, dt = time_calls(self.run_n, self.min_time, self.n)
    return self.n * self.per_call / dt

  def seconds(self) -> float:
    return 1.0 / self.rate()


class CallTimer(Timer):
  """A `Timer` of calls of `fn()`, which returns arrays: each timed run blocks on its
  last call's output, kept as `out`."""

  def __init__(self, fn: Callable[[], Any], per_call: float = 1.0, min_time: float = 0.0,
               warm_up: int = 1):
    self.fn, self.out = fn, None
    super().__init__(self._run_n, per_call, min_time, warm_up)

  def _run_n(self, n: int) -> None:
    import jax  # pylint: disable=g-import-not-at-top
    for _ in range(n):
      self.out = self.fn()
    jax.block_until_ready(self.out)


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
  """Calls every measure (no arguments, returns a number: a `Timer`'s rate or seconds)
  once a repeat, in turn, so that a burst of background load hits all of them; returns
  ({key: [value per repeat]}, [others' CPU share per repeat, None where unknown])."""
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


def best_and_median(raw: dict, best=max) -> tuple[dict, dict]:
  """Each measurement's best (max of rates; pass best=min for seconds) and median."""
  return ({key: best(v) for key, v in raw.items()},
          {key: float(np.median(v)) for key, v in raw.items()})


def machine_busy(others: list) -> bool:
  # When something else competes for the cores, the numbers (torch's OpenMP threads
  # especially, which collapse when descheduled) are not comparable.
  known = [o for o in others if o is not None]
  return bool(known) and max(known) > BUSY_OTHERS


# ----------------------------------------------------------------------------- a run


def arguments(doc: str, repeats: int = 3, min_time: float = 2.0,
              quick: str = '') -> argparse.ArgumentParser:
  """A parser with the flags every benchmark takes: --out, --repeats, --min-time, and
  --quick (with `quick` as its help) when given."""
  p = argparse.ArgumentParser(description=doc.split('\n\n')[0])
  p.add_argument('--out', default='', help='write the results as JSON to this path')
  p.add_argument('--repeats', type=int, default=repeats, help='interleaved repeats')
  p.add_argument('--min-time', type=float, default=min_time,
                 help='seconds each timed measurement runs at least')
  if quick:
    p.add_argument('--quick', action='store_true', help=quick)
  return p


def begin(doc: str, **extra) -> tuple[dict, dict]:
  """The start of a run: prints the first paragraph of `doc`, the machine's facts and the
  environment (versions, devices, XLA_FLAGS, the load, and `extra`); returns (environment,
  machine facts), for `finish`."""
  import platform  # pylint: disable=g-import-not-at-top
  import jax  # pylint: disable=g-import-not-at-top
  print(doc.split('\n\n')[0])
  machine = print_machine_facts()
  env = {'jax': jax.__version__, 'python': platform.python_version(),
         'devices': [str(d) for d in jax.devices()], 'cpu_count': os.cpu_count(), **extra,
         'XLA_FLAGS': os.environ.get('XLA_FLAGS', ''), 'loadavg_at_start': os.getloadavg()}
  print(f"jax {env['jax']} on {env['devices']}, {env['cpu_count']} CPUs, XLA_FLAGS="
        f"{env['XLA_FLAGS']!r}, load average {env['loadavg_at_start'][0]:.2f}"
        + ''.join(f', {key} {value}' for key, value in extra.items()), flush=True)
  return env, machine


def finish(out: str, result: Mapping[str, Any], machine: dict, others: list,
           env: dict | None = None) -> bool:
  """The end of a run: prints the load (with BUSY_WARNING when busy) and, if `out` is set,
  writes `result` with the busy flag and `env` (as `begin` gave it) with the load added
  under 'environment'. Returns whether it was busy."""
  busy = machine_busy(others)
  env = dict(env) if env else {'loadavg_at_start': (machine.get('loadavg_1min') or 0.0,)}
  env['loadavg_at_end'] = os.getloadavg()
  env['other_processes_cpu_share_per_repeat'] = others
  print(f"load average at start {env['loadavg_at_start'][0]:.2f}, at end "
        f"{env['loadavg_at_end'][0]:.2f}; other processes' share of the CPUs per repeat: "
        + ', '.join('?' if o is None else f'{o:.0%}' for o in others))
  if busy:
    print(BUSY_WARNING)
  if out:
    write_json(out, {**result, 'busy': busy, 'environment': env}, machine)
  return busy


# ----------------------------------------------------------------------------- machine


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
