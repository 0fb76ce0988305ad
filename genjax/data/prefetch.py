"""Batches read ahead: the next calls' stacked batches are decoded while the step runs.

The training loop asks for the stacked batches of consecutive calls (steps s .. s+k-1,
then s+k ..). `Prefetched` answers each from a background thread that started on it
during the previous call, and starts the next `depth` calls' at once. A request it did
not foresee (after a rollback, or with skipped positions) is read directly and the
stale work dropped, so what it returns is always exactly the wrapped stream's batches.
"""

from __future__ import annotations

import concurrent.futures

import numpy as np

from genjax.data.arrays import StepStream


class Prefetched(StepStream):
  """`stream` with its next `depth` stacked calls read in a background thread."""

  def __init__(self, stream: StepStream, depth: int):
    self._stream, self._depth = stream, depth
    self.num_examples = stream.num_examples
    self.global_batch_size = stream.global_batch_size
    self.steps_per_epoch = getattr(stream, 'steps_per_epoch', 0)
    self.split = getattr(stream, 'split', 'train')
    self._pool = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix='genjax-prefetch')
    self._pending: dict[tuple[int, int], concurrent.futures.Future] = {}

  def batch(self, step: int) -> dict[str, np.ndarray]:
    return self._stream.batch(step)

  def rows(self, step: int) -> np.ndarray:
    return self._stream.rows(step)

  def stacked(self, first_step: int, num_steps: int) -> dict[str, np.ndarray]:
    future = self._pending.pop((first_step, num_steps), None)
    if future is None:
      for stale in self._pending.values():
        stale.cancel()
      self._pending.clear()
    for j in range(1, self._depth + 1):
      key = (first_step + j * num_steps, num_steps)
      if key not in self._pending:
        self._pending[key] = self._pool.submit(self._stream.stacked, *key)
    if future is None:
      return self._stream.stacked(first_step, num_steps)
    return future.result()
