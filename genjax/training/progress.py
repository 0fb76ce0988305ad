"""Progress lines (steps/s, examples/s, ETA) and the metrics.jsonl written by process 0."""

from __future__ import annotations

import datetime
import json
import os
import time
from typing import Any, Mapping

import jax
import numpy as np
from absl import logging


class Progress:
  """Rates over the interval since the last report, and the ETA from them."""

  def __init__(self, total_steps: int, first_step: int, examples_per_step: int):
    self.total_steps = total_steps
    self.examples_per_step = examples_per_step
    self._last_step, self._last_time = first_step, time.perf_counter()

  def report(self, step: int, loss: float) -> dict[str, float]:
    now = time.perf_counter()
    steps_per_sec = (step - self._last_step) / max(now - self._last_time, 1e-9)
    self._last_step, self._last_time = step, now
    eta = (self.total_steps - step) / max(steps_per_sec, 1e-9)
    rates = {'steps_per_sec': steps_per_sec,
             'examples_per_sec': steps_per_sec * self.examples_per_step}
    logging.info('step %d/%d (%.1f%%)  loss %.4f  |  %.1f steps/s  %.0f examples/s  |  ETA %s',
                 step, self.total_steps, 100 * step / self.total_steps, loss, steps_per_sec,
                 rates['examples_per_sec'], datetime.timedelta(seconds=int(eta)))
    return rates

  def restart_clock(self, step: int) -> None:
    """Excludes evaluation and checkpoint time from the training rate."""
    self._last_step, self._last_time = step, time.perf_counter()


class MetricsWriter:
  """Appends one JSON object per line; only process 0 writes."""

  def __init__(self, workdir: str):
    self.path = os.path.join(workdir, 'metrics.jsonl')
    self._enabled = jax.process_index() == 0

  def write(self, step: int, split: str, metrics: Mapping[str, Any]) -> None:
    if not self._enabled:
      return
    row = {'step': int(step), 'split': split,
           **{k: float(np.asarray(v)) for k, v in metrics.items()}}
    with open(self.path, 'a') as f:
      f.write(json.dumps(row) + '\n')


def read_metrics(path: str) -> list[dict]:
  with open(path) as f:
    return [json.loads(line) for line in f if line.strip()]
