"""Train metrics kept on device between log lines, and the non-finite check on them."""

from __future__ import annotations

import jax
import numpy as np

from genjax.errors import UserError


class NonFiniteError(FloatingPointError, UserError):
  """Training produced a non-finite loss or state; nothing non-finite was saved.

  Attributes:
    bad_position: the data position of the first step found at fault: the first
      non-finite loss, or else the last step of the first call whose state is non-finite.
  """

  def __init__(self, message: str, bad_position: int):
    super().__init__(message)
    self.bad_position = bad_position


class PendingMetrics:
  """Per-call train metrics, fetched only when a log line or a save needs them."""

  def __init__(self, checkpoint_directory: str, latest_step):
    self._pending = []  # (metrics on device, the data positions of the call's steps)
    self._directory, self._latest_step = checkpoint_directory, latest_step

  def append(self, metrics, positions) -> None:
    self._pending.append((metrics, list(positions)))

  def clear(self) -> None:
    self._pending.clear()

  def drain(self, step: int) -> dict[str, float]:
    """Means since the last drain; raises NonFiniteError on a non-finite loss or state."""
    stacked = self._checked(step)
    self._pending.clear()
    return {key: float(v.mean()) for key, v in stacked.items()
            if key not in ('finite', 'state_finite')}

  def check(self, step: int) -> None:
    """Raises NonFiniteError on a non-finite loss or state; keeps the metrics for the
    next drain's means."""
    self._checked(step)

  def _checked(self, step: int) -> dict[str, np.ndarray]:
    if not self._pending:
      return {}
    fetched = jax.device_get([m for m, _ in self._pending])
    positions = [p for _, ps in self._pending for p in ps]
    call_ends = np.cumsum([len(ps) for _, ps in self._pending]) - 1
    stacked = {key: np.concatenate([np.atleast_1d(m[key]) for m in fetched])
               for key in fetched[0]}
    if not (stacked['finite'].all() and stacked['state_finite'].all()):
      self._pending.clear()
      raise self._error(step, stacked, positions, call_ends)
    return stacked

  def _error(self, step, stacked, positions, call_ends) -> NonFiniteError:
    if not stacked['finite'].all():
      bad = int(np.argmin(stacked['finite']))
      what = f'the loss became non-finite ({stacked["loss"][bad]})'
    else:
      bad = int(call_ends[np.argmin(stacked['state_finite'])])
      what = 'the params became non-finite'
    last = self._latest_step()
    kept = (f'its last checkpoint, step {last} in {self._directory}, is finite'
            if last is not None else 'no checkpoint had been saved yet')
    return NonFiniteError(
        f'Within the {len(stacked["loss"])} steps before step {step} {what}. The run '
        f'stopped without saving; {kept}. Lower --config.optimizer.learning_rate or set '
        '--config.optimizer.grad_clip_norm, then run again to resume (or set '
        '--config.skip_non_finite=True to roll back and skip the batch).', positions[bad])
