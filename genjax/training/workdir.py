"""The workdir: one run at a time in it (an exclusive lock held for the whole run), never
another family's run overwritten, and a finished run recognised.

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


from genjax.commands import canonical_family
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


def prepare(workdir: str, family_name: str) -> None:
  """Makes the workdir; refuses a file in its place or another family's run in it."""
  if os.path.exists(workdir) and not os.path.isdir(workdir):
    raise UserError(f'--workdir={workdir} is a file, not a directory; pass a directory '
                    '(it is made if missing).')
  os.makedirs(workdir, exist_ok=True)
  saved = os.path.join(workdir, 'config.json')
  if os.path.exists(saved):
    with open(saved) as f:
      try:
        other = json.load(f).get('family')
      except json.JSONDecodeError:
        other = None
    if other and canonical_family(other) != canonical_family(family_name):
      raise UserError(f'{workdir} holds a {other!r} run, not a {family_name!r} one; train in '
                      'another --workdir.')


def finished_metrics(workdir: str, start: int, total: int) -> dict | None:
  """The saved final metrics of a run that already reached `total` (or converged at its
  checkpoint's step); None otherwise."""
  path = os.path.join(workdir, 'final_metrics.json')
  if not os.path.exists(path):
    return None
  with open(path) as f:
    final = json.load(f)
  done = start >= total or final.get('converged', False)
  return final if done and final.get('step') == start else None
