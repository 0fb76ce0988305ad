"""The workdir: one run at a time in it (an exclusive lock held for the whole run), never
another family's run overwritten, and a finished run recognised.

The lock is `fcntl.flock` on `<workdir>/.lock`, which the kernel releases when its process
dies however it dies, so a lock whose process is gone never blocks a new run; the file
keeps the holder's pid, host and start time so a refusal can name the other run. Only
process 0 of a multi-host run takes it: the lock is per workdir, not per process.

A workdir in an object store (gs://, s3://) has no flock: its lock is a lease with a
heartbeat (`genjax.training.lease`), refused while fresh and taken over once stale. Every
file of a workdir is read and written through etils.epath, wherever it is.
"""

from __future__ import annotations

import datetime
import fcntl
import json
import logging
import os
import socket

from etils import epath

from genjax.commands import canonical_family
from genjax.errors import UserError
from genjax.training import storage
from genjax.training.lease import Lease, describe

logger = logging.getLogger(__name__)


class WorkdirBusyError(UserError):
  """Another live run holds the workdir."""


class WorkdirLostError(UserError):
  """Another run took the workdir's lease over while this one trained."""


class WorkdirLock:
  """Context manager: `with WorkdirLock(workdir): ...` trains alone in workdir.

  `lease` chooses the heartbeat lease over flock; by default a workdir that is not local
  gets it, as it must.
  """

  def __init__(self, workdir: str, enabled: bool = True, *, lease: bool | None = None):
    self.path = os.path.join(workdir, '.lock')
    self._enabled = enabled
    self._file = None
    use_lease = not storage.is_local(workdir) if lease is None else lease
    self._lease = Lease(self.path) if use_lease else None

  @property
  def lost(self) -> bool:
    """Whether another run has taken the workdir over (a lease only: flock cannot be
    lost while its process lives)."""
    return self._lease is not None and self._lease.lost.is_set()

  def __enter__(self) -> 'WorkdirLock':
    if not self._enabled:
      return self
    if self._lease is not None:
      holder = self._lease.acquire()
      if holder is not None:
        raise _busy(os.path.dirname(self.path), holder)
      return self
    f = open(self.path, 'a+')  # pylint: disable=consider-using-with
    try:
      fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
      holder = _read_holder(f)
      f.close()
      raise _busy(os.path.dirname(self.path), holder) from None
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
    if self._lease is not None and self._enabled:
      self._lease.release()
    if self._file is not None:
      self._file.seek(0)
      self._file.truncate()
      fcntl.flock(self._file, fcntl.LOCK_UN)
      self._file.close()
      self._file = None


def _busy(workdir: str, holder: str) -> WorkdirBusyError:
  return WorkdirBusyError(f'{workdir} is in use by another run ({holder}); wait for it to '
                          'finish or stop it, or train in another --workdir.')


def _read_holder(f) -> str:
  f.seek(0)
  try:
    h = json.loads(f.read() or 'null')
  except json.JSONDecodeError:
    h = None
  return describe(h)


def prepare(workdir: str, family_name: str) -> None:
  """Makes the workdir; refuses a file in its place or another family's run in it."""
  path = epath.Path(workdir)
  if path.exists() and not path.is_dir():
    raise UserError(f'--workdir={workdir} is a file, not a directory; pass a directory '
                    '(it is made if missing).')
  path.mkdir(parents=True, exist_ok=True)
  saved = path / 'config.json'
  if saved.exists():
    try:
      other = json.loads(saved.read_text()).get('family')
    except json.JSONDecodeError:
      other = None
    if other and canonical_family(other) != canonical_family(family_name):
      raise UserError(f'{workdir} holds a {other!r} run, not a {family_name!r} one; train in '
                      'another --workdir.')


def finished_metrics(workdir: str, start: int, total: int) -> dict | None:
  """The saved final metrics of a run that already reached `total` (or converged at its
  checkpoint's step); None otherwise."""
  path = epath.Path(workdir) / 'final_metrics.json'
  if not path.exists():
    return None
  final = json.loads(path.read_text())
  done = start >= total or final.get('converged', False)
  return final if done and final.get('step') == start else None
