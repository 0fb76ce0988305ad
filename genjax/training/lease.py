"""A workdir lock for storage that has no lock: a lease on `<workdir>/.lock`, kept alive by
a heartbeat.

An object store (gs://, s3://) has no flock, and a process that dies cannot release
anything, so the lock there is a record that says who holds the workdir and when it last
said so: {owner (a uuid), pid, host, started, heartbeat}. The holder rewrites the heartbeat
every `interval` seconds from a daemon thread. Another run refuses the workdir while the
heartbeat is fresh, and takes over a lease whose heartbeat is older than `stale_after`
intervals: its run is gone, or has stalled for that long. Heartbeats are wall-clock times
of the hosts that wrote them, so clocks that differ by less than that margin do no harm.

Through epath an object store offers no compare-and-swap, so a claim is last-writer-wins
plus a read-back: a run writes its claim, waits `settle` seconds, reads the lease back and
holds the workdir only if the record is still its own; of two runs that claim together,
the one that wrote last wins and the other refuses. This needs a store that reads back
what was last written (GCS and S3 do). The race left: a run whose read of the free lease
and write of its claim are more than `settle` apart can overwrite a claim that its rival
has already read back, and then both train until the overwritten run's next heartbeat
finds the lease is not its own: it sets `lost`, and the training loop stops that run at
its next step boundary without saving.

The lease is used for any workdir that is not local, and can be chosen for a local one
(where it is tested).
"""

from __future__ import annotations

import datetime
import json
import logging
import os
import socket
import threading
import time
import uuid

from etils import epath

from genjax.training import storage

logger = logging.getLogger(__name__)


def describe(record) -> str:
  """'pid P on HOST, started T' of a lock's record, as a refusal names the other run."""
  if not isinstance(record, dict):
    return 'no record'
  text = f"pid {record.get('pid')} on {record.get('host')}, started {record.get('started')}"
  if isinstance(record.get('heartbeat'), (int, float)):
    text += f", last heartbeat {time.time() - record['heartbeat']:.0f}s ago"
  return text


class Lease:
  """`acquire()` claims the workdir's lease, or names the live run that holds it;
  `release()` stops the heartbeat and deletes the lease if it is still this run's."""

  def __init__(self, path: epath.PathLike, *, interval: float = 30.0,
               stale_after: float = 4.0, settle: float = 2.0):
    self.path = epath.Path(path)
    self._interval, self._stale_after, self._settle = interval, stale_after, settle
    self._record = {'owner': uuid.uuid4().hex, 'pid': os.getpid(),
                    'host': socket.gethostname(),
                    'started': datetime.datetime.now().isoformat(timespec='seconds')}
    self._stop = threading.Event()
    self.lost = threading.Event()  # set once another run holds the lease: the loop stops
    self._thread = None

  def acquire(self) -> str | None:
    """Claims the lease and starts its heartbeat; returns None, or, when a live run holds
    it, that run's description (and claims nothing)."""
    previous = self._read()
    if previous is not None and self._fresh(previous):
      return describe(previous)
    self._write()
    time.sleep(self._settle)  # a rival's claim written meanwhile is read back below
    held = self._read()
    if not self._ours(held):
      return describe(held)
    if previous is not None:
      logger.info('Took over the lock of an earlier run that is gone (%s).',
                  describe(previous))
    self._thread = threading.Thread(target=self._beat, name='genjax workdir lease',
                                    daemon=True)
    self._thread.start()
    return None

  def release(self) -> None:
    self._stop.set()
    if self._thread is not None:
      self._thread.join()
      self._thread = None
      if self._ours(self._read()):
        self.path.unlink(missing_ok=True)

  def _beat(self) -> None:
    while not self._stop.wait(self._interval):
      try:
        held = self._read()
        if not self._ours(held):
          logger.error('Lost the lock of %s to another run (%s): this run was silent for '
                       'longer than %.0fs.', self.path.parent, describe(held),
                       self._interval * self._stale_after)
          self.lost.set()
          return
        self._write()
      # A store that fails one heartbeat (a timeout, a 503) may take the next: the lease
      # stays fresh for `stale_after` intervals, so the thread tries again, not dies.
      except Exception as e:  # pylint: disable=broad-except
        logger.warning('Could not renew the lock of %s (%s: %s); trying again in %.0fs.',
                       self.path.parent, type(e).__name__, e, self._interval)

  def _fresh(self, record: dict) -> bool:
    heartbeat = record.get('heartbeat')
    return (isinstance(heartbeat, (int, float))
            and time.time() - heartbeat < self._interval * self._stale_after)

  def _ours(self, record) -> bool:
    return isinstance(record, dict) and record.get('owner') == self._record['owner']

  def _read(self) -> dict | None:
    """The lease's record; None when there is none, or what is there is not a record (the
    empty file a local flock leaves) and so no one's claim."""
    try:
      record = json.loads(self.path.read_text())
    except (FileNotFoundError, json.JSONDecodeError, UnicodeDecodeError):
      return None
    return record if isinstance(record, dict) else None

  def _write(self) -> None:
    # Whole, so that a rival never reads a half-written lease as no lease at all.
    storage.replace_text(self.path, json.dumps({**self._record, 'heartbeat': time.time()}))
