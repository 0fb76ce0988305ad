"""The will-it-fit table: configs compiled ahead of time for several TPU slices, each as
given and, where it does not fit, with settings added one at a time until it does: fsdp
over every chip, then bfloat16 compute, then what the tool itself advises (remat,
gradient accumulation, ...), in its order.
"""

from __future__ import annotations

import os
import sys
import time
import traceback
from typing import Callable, Sequence

import ml_collections

from genjax.errors import UserError
from genjax.tools import aot, aot_devices
from genjax.tools.aot_levers import Lever
from genjax.tools.aot_report import duration, size

# Slice names as clouds sell them -> the chip grid `--topology` takes.
TOPOLOGIES = {'v5e-8': 'v5e:2x4', 'v5e-256': 'v5e:16x16', 'v4-32': 'v4:2x2x4'}
HEADER = ['| config | slice | as given | settings that fit | memory per chip | '
          'FLOPs per step per chip | step time at peak | compile |',
          '|---|---|---|---|---|---|---|---|']
# A refused program takes the compiler a minute or two here, one that fits ten or more.
MAX_COMPILES = 10
_FIRST_LEVERS = ('mesh.fsdp', 'compute_dtype')


def _next_lever(result: aot.Compiled, applied: list[Lever], devices: int) -> Lever | None:
  """fsdp over every chip, then bfloat16, then the tool's own advice in its order; more
  micro-batches at least double the last, since the compiler's estimates of a refused
  program are rough and each try costs minutes."""
  options = [lever for lever in result.levers if lever not in applied]
  first = [lever for lever in options if lever.field in _FIRST_LEVERS]
  lever = (first or options or [None])[0]
  if lever is not None and lever.field == 'grad_accum_steps':
    c = result.config
    doubled = [k for k in range(2 * c.grad_accum_steps, c.batch_size // devices + 1)
               if c.batch_size % (k * devices) == 0]
    lever = Lever(lever.field, max(lever.value, doubled[0] if doubled else 0))
  return lever


def _with(applied: list[Lever], lever: Lever) -> list[Lever]:
  """`applied` and `lever`, which replaces an earlier value of its field."""
  return [a for a in applied if a.field != lever.field] + [lever]


def _memory(result: aot.Compiled) -> str:
  if result.memory is None:
    return f'{size(result.used_bytes)} (the compiler\'s estimate as it refused)'
  return size(result.used_bytes)


def row(label: str, config: ml_collections.ConfigDict, slice_name: str,
        stage1_config: Callable | None, log) -> str:
  """One markdown row: `config` on `slice_name`, with the settings that make it fit."""
  target = aot_devices.target(TOPOLOGIES[slice_name])
  devices = len(target.devices)
  applied = []
  if config.batch_size % devices:
    applied.append(Lever('batch_size', -(-config.batch_size // devices) * devices))
  tried = []
  while len(tried) < MAX_COMPILES:
    attempt = config
    for lever in applied:
      attempt = lever.apply(attempt)
    log(f'{label} on {slice_name}: compiling {" ".join(map(str, applied)) or "as given"}')
    try:
      result = aot.compile_step(attempt, target, stage1_config=stage1_config)
    except UserError as e:
      if not tried:
        return f'| {label} | {slice_name} | {e} | | | | | |'
      log(f'  {e}')
      break
    log(f'  {result.fit_line} ({result.seconds:.0f} s)')
    tried.append((list(applied), result))
    lever = None if result.fits else _next_lever(result, applied, devices)
    if lever is None:
      break
    applied = _with(applied, lever)
  seconds = sum(result.seconds for _, result in tried)
  given_levers, given = tried[0]
  as_given = 'fits' if given.fits else f'does not fit: {_memory(given)}'
  if given_levers:  # the batch did not divide over the chips
    as_given = f'batch {config.batch_size} does not divide over {devices} chips'
  last_levers, last = tried[-1]
  settings = ' '.join(map(str, last_levers)) or 'as given'
  if not last.fits:
    settings = f'none found; last tried: {settings}'
  flops = f'{last.flops_per_step:.2e}' if last.flops_per_step else '?'
  bound = (duration(last.flops_per_step / target.peak_flops)
           if last.flops_per_step and target.peak_flops else '?')
  return (f'| {label} | {slice_name} | {as_given} | {settings} | {_memory(last)} | {flops} '
          f'| {bound} | {seconds:.0f} s |')


def table(rows: Sequence[tuple[str, ml_collections.ConfigDict]], *,
          stage1_config: Callable | None = None, slices: Sequence[str] = tuple(TOPOLOGIES),
          done: dict[tuple[str, str], str] | None = None, emit=print,
          log=lambda line: print(line, file=sys.stderr, flush=True)) -> None:
  """Emits the markdown table of `rows` ((label, config)) on `slices` a row at a time, each
  slice's rows together, then a line saying where and how long it took. `done`: rows
  already compiled, by (label, slice), emitted as they are."""
  start, load = time.monotonic(), os.getloadavg()[0]
  done = done or {}
  for line in HEADER:
    emit(line)
  for slice_name in slices:
    for label, config in rows:
      if (label, slice_name) in done:
        emit(done[label, slice_name])
        continue
      try:
        emit(row(label, config, slice_name, stage1_config, log))
      except Exception as e:  # pylint: disable=broad-except
        # One failure costs its row, not the hours the others took; its traceback is logged.
        log(traceback.format_exc())
        first = str(e).strip().splitlines()[0][:200] if str(e).strip() else ''
        emit(f'| {label} | {slice_name} | failed: {type(e).__name__}: {first} | | | | | |')
  minutes = (time.monotonic() - start) / 60
  emit('')
  emit(f'Compiled ahead of time on this host\'s CPU ({os.cpu_count()} cores) in '
       f'{minutes:.0f} min{_kept(len(done))}; '
       f'load average {load:.1f} at the start, {os.getloadavg()[0]:.1f} at the end.')


def _kept(n: int) -> str:
  return f' (and {n} row{"s" * (n != 1)} kept from an earlier run of it)' if n else ''


def rows_in(path: str) -> dict[tuple[str, str], str]:
  """The finished rows of a table written before, by (label, slice); a failed one is not
  finished."""
  if not os.path.exists(path):
    return {}
  found = {}
  with open(path) as f:
    for line in f:
      cells = [c.strip() for c in line.strip().split('|')[1:-1]]
      if (len(cells) == len(HEADER[0].split('|')) - 2 and cells[1] in TOPOLOGIES
          and not cells[2].startswith('failed:')):
        found[cells[0], cells[1]] = line.rstrip('\n')
  return found


def print_table(rows, *, stage1_config=None, slices: Sequence[str] = tuple(TOPOLOGIES),
                out: str = '') -> None:
  """The table on stdout, and in `out` as each row is done. The rows `out` already holds
  are kept, not compiled again: a table that takes hours continues where it stopped."""
  done = rows_in(out) if out else {}
  sink = open(out, 'w') if out else None  # pylint: disable=consider-using-with

  def emit(line: str) -> None:
    print(line, flush=True)
    if sink:
      sink.write(line + '\n')
      sink.flush()

  try:
    table(rows, stage1_config=stage1_config, slices=slices, done=done, emit=emit)
  finally:
    if sink:
      sink.close()
