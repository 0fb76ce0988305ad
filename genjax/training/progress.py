"""Progress lines (steps/s, examples/s, ETA) and the metrics.jsonl written by process 0."""

from __future__ import annotations

import datetime
import json
import logging
import os
import time
from typing import Any, Mapping

import jax
import numpy as np
from etils import epath

from genjax.training import storage, utilization
from genjax.training.event_files import TensorBoardWriter

logger = logging.getLogger(__name__)

# The split of the metrics row the loop writes once a run, after its first compiled call:
# `flops_per_step`, one device's FLOPs a train step by the compiled step's cost analysis,
# and `devices`, how many ran it; their product by the steps is the run's training compute
# (genjax.tools.paradigms).
COMPUTE_SPLIT = 'compute'


class Progress:
  """Progress lines with rates and ETA, from the first seconds of a run.

  The clock starts after the first compiled call (`first_call_done`), so rates exclude
  compile time. A line is logged at every `report` (the log_every rows) and, between them,
  whenever `heartbeat_seconds` have passed (`heartbeat_due`). A run that is one of several
  (a sweep) names itself with `label` and adds the runs still to come to its ETA.
  """

  def __init__(self, total_steps: int, first_step: int, examples_per_step: int, *,
               label: str = '', runs_after: int = 0, heartbeat_seconds: float = 20.0):
    self.total_steps = total_steps
    self.examples_per_step = examples_per_step
    self._label = f'{label}  ' if label else ''
    # On several hosts, the line says what the run spans.
    self._span = (f'  |  {jax.process_count()} hosts, {jax.device_count()} devices'
                  if jax.process_count() > 1 else '')
    self._runs_after = runs_after
    self._heartbeat = heartbeat_seconds
    self._start = time.perf_counter()
    self._row = self._line = (first_step, self._start)
    self._first_step = first_step
    self._last_line = self._start  # wall time of the last line, which evaluations don't reset
    self._timed_steps, self._timed_seconds = 0, 0.0  # training time only, for the ETA
    self._flops_per_step = None

  def first_call_done(self, step: int, flops_per_step: float | None = None) -> None:
    """After the first compiled call; `flops_per_step` (one device's, from the compiled
    step) adds the achieved rate, and MFU where the chip is known, to every line."""
    logger.info('%scompiled the train step and ran its first call in %.1fs', self._label,
                 time.perf_counter() - self._start)
    self._flops_per_step = flops_per_step
    self.restart_clock(step)

  def heartbeat_due(self) -> bool:
    return time.perf_counter() - self._last_line >= self._heartbeat

  def line(self, step: int, loss: float) -> float:
    """Logs one progress line for the interval since the last line; returns steps/s.

    The ETA divides by the mean rate of all training intervals so far, not by this one's:
    one slow call (the first after an evaluation or a checkpoint) must not swing it by
    hours. Until a step has been timed past the first compiled call, the rate is that of
    the run so far, compile time included: slow, but never zero.
    """
    now = time.perf_counter()
    steps, seconds = step - self._line[0], now - self._line[1]
    self._timed_steps += steps
    self._timed_seconds += seconds
    self._line, self._last_line = (step, now), now
    steps_per_sec = steps / max(seconds, 1e-9)
    if self._timed_steps:
      mean_rate = self._timed_steps / max(self._timed_seconds, 1e-9)
    else:  # nothing timed past the first call yet: its rate, compile time included
      steps_per_sec = mean_rate = (step - self._first_step) / max(now - self._start, 1e-9)
    eta = (self.total_steps - step) / mean_rate
    overall = ''
    if self._runs_after:
      rest = eta + self._runs_after * self.total_steps / mean_rate
      overall = f'  (all runs: {datetime.timedelta(seconds=int(rest))})'
    logger.info('%sstep %d/%d (%.1f%%)  loss %.4f  |  %.1f steps/s  %.0f examples/s  |  '
                 'ETA %s%s%s', self._label, step, self.total_steps,
                 100 * step / self.total_steps, loss, steps_per_sec,
                 steps_per_sec * self.examples_per_step, datetime.timedelta(seconds=int(eta)),
                 overall, self._span + self._utilization(steps_per_sec))
    return steps_per_sec

  def _utilization(self, steps_per_sec: float) -> str:
    if not self._flops_per_step:
      return ''
    return '  |  ' + utilization.describe(self._flops_per_step * steps_per_sec,
                                         jax.local_devices()[0])

  def report(self, step: int, loss: float) -> dict[str, float]:
    """A line, and the rates since the last report for the metrics row."""
    self.line(step, loss)
    now = time.perf_counter()
    steps_per_sec = (step - self._row[0]) / max(now - self._row[1], 1e-9)
    self._row = (step, now)
    rates = {'steps_per_sec': steps_per_sec,
             'examples_per_sec': steps_per_sec * self.examples_per_step}
    if self._flops_per_step:
      rates['device_flops_per_sec'] = steps_per_sec * self._flops_per_step
    return rates

  def restart_clock(self, step: int) -> None:
    """Excludes evaluation, checkpoint and compile time from the training rate."""
    self._row = self._line = (step, time.perf_counter())


class MetricsWriter:
  """Appends one JSON object per line, and the same rows to TensorBoard's event files
  (`tensorboard`); only process 0 writes."""

  def __init__(self, workdir: str):
    self.path = os.path.join(workdir, 'metrics.jsonl')
    self._enabled = jax.process_index() == 0
    self.tensorboard = TensorBoardWriter(workdir)
    # An object store cannot append, and every write there uploads a whole object anyway:
    # there the rows are kept here (read once, on resume) and the file is written whole at
    # each row, never read back: this writer, under the workdir's lock, is its only one.
    self._append_in_place = storage.is_local(workdir)
    self._rows = None  # the file's rows, once read, where it is not appended to in place

  def drop_after(self, step: int, *, splits_at_step: tuple[str, ...] = ()) -> None:
    """Drops rows past `step`, and those of `splits_at_step` at `step`: a resumed run
    writes them again from its checkpoint."""
    if not self._enabled:
      return
    rows = read_metrics(self.path) if epath.Path(self.path).exists() else []
    kept = [r for r in rows
            if r['step'] < step or (r['step'] == step and r['split'] not in splits_at_step)]
    self.tensorboard.drop_after(step, splits_at_step, kept)
    if not self._append_in_place:
      self._rows = kept
    if len(kept) < len(rows):
      storage.replace_text(self.path, ''.join(json.dumps(r) + '\n' for r in kept))
      logger.info('metrics.jsonl: dropped %d rows the run writes again from step %d',
                   len(rows) - len(kept), step)

  def write(self, step: int, split: str, metrics: Mapping[str, Any]) -> None:
    if not self._enabled:
      return
    row = {'step': int(step), 'split': split,
           **{k: float(np.asarray(v)) for k, v in metrics.items()}}
    self._append(row)
    self.tensorboard.scalars(row['step'], split, {k: row[k] for k in metrics})

  def close(self) -> None:
    self.tensorboard.close()

  def _append(self, row: dict) -> None:
    if self._append_in_place:
      with epath.Path(self.path).open('a') as f:
        f.write(json.dumps(row) + '\n')
      return
    if self._rows is None:
      self._rows = read_metrics(self.path) if epath.Path(self.path).exists() else []
    self._rows.append(row)
    storage.replace_text(self.path, ''.join(json.dumps(r) + '\n' for r in self._rows))


def read_metrics(path: str) -> list[dict]:
  with epath.Path(path).open() as f:
    return [json.loads(line) for line in f if line.strip()]


def train_seconds(rows: list[dict]) -> float:
  """The train steps' time: each logged interval's steps over its measured steps/s."""
  train = [r for r in rows if r['split'] == 'train' and r.get('steps_per_sec')]
  total, last = 0.0, 0
  for r in train:
    total += (r['step'] - last) / r['steps_per_sec']
    last = r['step']
  return total
