"""One run at a time in a workdir: an exclusive lock held for the whole run.

The lock is `fcntl.flock` on `<workdir>/.lock`, which the kernel releases when its process
dies however it dies, so a lock whose process is gone never blocks a new run; the file
keeps the holder's pid, host and start time so a refusal can name the other run. Only
process 0 of a multi-host run takes it: the lock is per workdir, not per process.
"""

from __future__ import annotations

import datetime
import fcntl
import json
import logging
import os
import socket


from genjax.errors import UserError

logger = logging.getLogger(__name__)


class WorkdirBusyError(UserError):
  """Another live run holds the workdir."""


class WorkdirLock:
  """Context manager: `with WorkdirLock(workdir): ...` trains alone in workdir."""

  def __init__(self, workdir: str, enabled: bool = True):
    self.path = os.path.join(workdir, '.lock')
    self._enabled = enabled
    self._file = None

  def __enter__(self) -> 'WorkdirLock':
    if not self._enabled:
      return self
    f = open(self.path, 'a+')  # pylint: disable=consider-using-with
    try:
      fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
      holder = _read_holder(f)
      f.close()
      raise WorkdirBusyError(
          f'{os.path.dirname(self.path)} is in use by another run ({holder}); wait for it '
          'to finish or stop it, or train in another --workdir.') from None
    previous = _read_holder(f)
    if previous != 'no record':
      logger.info('Took over the lock of an earlier run that is gone (%s).', previous)
    f.seek(0)
    f.truncate()
    json.dump({'pid': os.getpid(), 'host': socket.gethostname(),
               'started': datetime.datetime.now().isoformat(timespec='seconds')}, f)
    f.flush()
    self._file = f
    return self

  def __exit__(self, *exc) -> None:
    if self._file is not None:
      self._file.seek(0)
      self._file.truncate()
      fcntl.flock(self._file, fcntl.LOCK_UN)
      self._file.close()
      self._file = None


def _read_holder(f) -> str:
  f.seek(0)
  try:
    h = json.loads(f.read() or 'null')
  except json.JSONDecodeError:
    h = None
  if not isinstance(h, dict):
    return 'no record'
  return f"pid {h.get('pid')} on {h.get('host')}, started {h.get('started')}"
