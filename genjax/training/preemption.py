"""SIGTERM, which pre-emptible TPU and cloud VMs send before they stop, as a request to
save at the next step boundary and exit cleanly, rather than an immediate death."""

from __future__ import annotations

import logging
import signal
import threading


logger = logging.getLogger(__name__)


class Preempted(Exception):
  """The run saved a checkpoint after SIGTERM and stopped; running it again resumes."""


class PreemptionGuard:
  """Context manager: while inside, SIGTERM sets `requested` instead of killing.

  Handlers can only be installed from the main thread; elsewhere (a test runner's worker
  thread, say) the guard does nothing and SIGTERM keeps its default.
  """

  def __init__(self):
    self.requested = False
    self._previous = None

  def _handle(self, signum, frame):
    del signum, frame
    if not self.requested:
      logger.warning('SIGTERM: saving a checkpoint at the next step boundary, then '
                      'stopping; run the same command again to resume.')
    self.requested = True

  def __enter__(self) -> 'PreemptionGuard':
    if threading.current_thread() is threading.main_thread():
      self._previous = signal.signal(signal.SIGTERM, self._handle)
    return self

  def __exit__(self, *exc) -> None:
    if self._previous is not None:
      signal.signal(signal.SIGTERM, self._previous)
      self._previous = None
