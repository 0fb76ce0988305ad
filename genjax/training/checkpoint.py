"""Orbax checkpoints of the whole train state plus the data position and model signature.

Orbax writes each checkpoint to a temporary directory and renames it when complete, so a
crash or kill mid-save leaves the previous checkpoint intact and usable. Each checkpoint's
metadata also holds a digest of every array (`genjax.training.digest`) and of the state's
layout.

A checkpoint counts as corrupt only when its arrays fail their digest or its files are not
in a readable format: a file missing, truncated or garbled, so that the JSON, msgpack or
TensorStore reader rejects it (`_is_format_error` lists exactly what qualifies). A corrupt
checkpoint is moved aside to `<workdir>/corrupt_checkpoints/` with a one-line warning and
the previous one is tried. Any other failure to read one (an I/O or permission error, a
full disk, MemoryError, an interrupt, anything unrecognised) says nothing about the
checkpoint: it is left where it is and the error propagates unchanged, so that a rerun can
read it.

On several hosts every process reads the same step and they agree on the verdict before
acting on it, so all of them restore the same step; only process 0 moves files, and the
others wait for it before they look at the directory again.
"""

from __future__ import annotations

import errno
import json
import logging
import os
import re
import time
from typing import Any, Mapping

import jax
import numpy as np
from etils import epy
from jax.experimental import multihost_utils

# Imported at its first use: a main refused at its flags, or a tool that reads no
# checkpoint, starts without Orbax.
with epy.lazy_imports():
  import orbax.checkpoint as ocp

from genjax.commands import canonical_signature
from genjax.errors import UserError
from genjax.training import digest, storage

logger = logging.getLogger(__name__)


class CheckpointMismatchError(ValueError, UserError):
  """The workdir holds a checkpoint of a different model."""


class NoUsableCheckpointError(UserError):
  """Every checkpoint in the workdir is corrupt or unreadable."""


class CheckpointReadError(UserError):
  """Another host could not read a checkpoint, for a reason other than corruption."""


class _Unusable(Exception):
  """One checkpoint is corrupt; the message says why, in one line."""


_OK, _CORRUPT, _FAILED = 0, 1, 2


class Checkpointer:
  """Saves and restores {state, meta} under `<workdir>/checkpoints/<step>`."""

  def __init__(self, workdir: str, *, keep: int, signature: Mapping[str, Any],
               upstream: Mapping[str, Any] | None = None, asynchronous: bool = True):
    self.workdir = storage.absolute(workdir)
    self.directory = os.path.join(self.workdir, 'checkpoints')
    self._signature = _json_normal(signature)
    # The run whose params this one reads frozen: recorded, and checked on resume.
    self._upstream = None if upstream is None else _json_normal(upstream)
    self._manager = ocp.CheckpointManager(
        self.directory,
        # Asynchronous: a save copies the state off the devices, then writes it from a
        # background thread while training goes on (benchmarks/checkpoint_stall.py). Each
        # checkpoint still appears under its step's name only once complete.
        options=ocp.CheckpointManagerOptions(max_to_keep=keep, create=True,
                                             enable_async_checkpointing=asynchronous),
        item_names=('state', 'meta'))

  def latest_step(self) -> int | None:
    return self._manager.latest_step()

  def save(self, state, *, data_position: int, skipped_batches=()) -> None:
    """Saves `state` unless its step is saved already. `data_position` is the next step;
    `skipped_batches` lists the data positions a rolled-back run skips."""
    step = int(jax.device_get(state.step))
    if step in self._manager.all_steps():
      return
    meta = {'signature': self._signature, 'data_position': data_position, 'step': step,
            'upstream': self._upstream, 'layout': digest.layout(state),
            'digest': digest.state_digest(state), 'skipped_batches': list(skipped_batches)}
    self._manager.save(step, args=ocp.args.Composite(state=ocp.args.StandardSave(state),
                                                      meta=ocp.args.JsonSave(meta)))

  def restore_latest(self, abstract_state) -> tuple[Any, dict] | None:
    """The newest usable (state, meta), laid out like `abstract_state`; None when there is
    no checkpoint. Corrupt ones are moved aside; a checkpoint of another model raises, and
    so does any error that is not corruption, leaving the checkpoint in place."""
    self._manager.wait_until_finished()  # a rollback reads the save still in flight
    failures = []
    for step in sorted(self._manager.all_steps(), reverse=True):
      restored, unusable, error = None, None, None
      try:
        restored = self._read(step, abstract_state)
      except _Unusable as e:
        unusable = e
      except Exception as e:  # pylint: disable=broad-except
        error = e
      # Before anything collective (the digest, a move), so that no process waits on one
      # that has given up.
      verdicts = self._agree(_FAILED if error is not None else
                             _CORRUPT if unusable is not None else _OK)
      if error is not None:
        if not isinstance(error, UserError):
          cause = _reader_error(error) or error
          logger.error('Could not read checkpoint %d in %s (%s: %s); that says nothing of '
                       'its files, so it was left in place.', step, self.directory,
                       type(cause).__name__, _first_line(cause))
        raise error
      if _FAILED in verdicts:
        raise CheckpointReadError(
            f'Process {verdicts.index(_FAILED)} could not read the checkpoint at '
            f'{self.directory}/{step} (see its log); it was left in place. Rerun once that '
            'host can read it.')
      if _CORRUPT not in verdicts:
        state, meta = restored
        # One computation over all processes' arrays: every process gets the same verdict.
        if 'digest' not in meta or digest.state_digest(state) == meta['digest']:
          return state, meta
        unusable = _Unusable('its arrays do not match the digest saved with them')
      reason = str(unusable) if unusable is not None else (
          f'process {verdicts.index(_CORRUPT)} found it unusable')
      failures.append(f'step {step}: {reason}')
      moved = self._move_aside(step)
      logger.warning('Checkpoint %d is unusable (%s); %s; trying the previous one.', step,
                     reason, f'moved it to {moved}' if moved else 'process 0 moved it aside')
    if failures:
      raise NoUsableCheckpointError(
          f'No usable checkpoint in {self.directory} ({"; ".join(failures)}); the unusable '
          f'ones are in {os.path.join(self.workdir, "corrupt_checkpoints")}. Start over with '
          'a fresh --workdir.')
    return None

  def _agree(self, verdict: int) -> list[int]:
    """Every process's verdict on the step just read, indexed by process."""
    if jax.process_count() == 1:
      return [verdict]
    gathered = multihost_utils.process_allgather(np.asarray([verdict], np.int32))
    return [int(v) for v in np.asarray(gathered).reshape(-1)]

  def _read(self, step: int, abstract_state) -> tuple[Any, dict]:
    """The step's (state, meta) as Orbax reads them, their digest not yet checked."""
    try:
      meta = self._manager.restore(step, args=ocp.args.Composite(
          meta=ocp.args.JsonRestore()))['meta']
    except Exception as e:  # pylint: disable=broad-except
      if not _is_format_error(e):
        raise
      raise _Unusable(f'its metadata is unreadable: {_first_line(_reader_error(e))}') from e
    if not isinstance(meta, dict) or 'signature' not in meta:
      raise _Unusable('its metadata is empty or incomplete')
    self._check_compatible(step, meta, abstract_state)
    target = jax.tree.map(ocp.utils.to_shape_dtype_struct, abstract_state)
    try:
      state = self._manager.restore(step, args=ocp.args.Composite(
          state=ocp.args.StandardRestore(target)))['state']
    except Exception as e:  # pylint: disable=broad-except
      if not _is_format_error(e):
        raise
      if 'layout' not in meta:  # written before layouts were recorded: the old guess
        raise CheckpointMismatchError(
            f'The checkpoint at {self.directory}/{step} does not fit this run\'s train state '
            '(optimizer or ema_decay changed?). Use a fresh --workdir, or the config that '
            f'wrote it. Orbax says: {_first_line(e)}') from e
      raise _Unusable(f'its arrays are unreadable: {_first_line(_reader_error(e))}') from e
    return state, meta

  def _check_compatible(self, step: int, meta: dict, abstract_state) -> None:
    where = f'{self.directory}/{step}'
    if canonical_signature(meta.get('signature')) != canonical_signature(self._signature):
      raise CheckpointMismatchError(
          f'The checkpoint at {where} was written by a different model '
          f'({_differences(meta.get("signature") or {}, self._signature)}). Use a fresh '
          '--workdir, or the config that wrote it.')
    saved_upstream = canonical_signature((meta.get('upstream') or {}).get('signature'))
    if saved_upstream != canonical_signature((self._upstream or {}).get('signature')):
      raise CheckpointMismatchError(
          f'The checkpoint at {where} was trained on another upstream run:\n'
          f'  checkpoint: {meta.get("upstream")}\n  this run:   {self._upstream}\n'
          'Point the run at the upstream it was trained on, or use a fresh --workdir.')
    if 'layout' in meta and meta['layout'] != digest.layout(abstract_state):
      raise CheckpointMismatchError(
          f'The checkpoint at {where} holds a train state of another layout than this '
          'run\'s (the optimizer, ema_decay or model state changed). Use a fresh --workdir, '
          'or the config that wrote it.')

  def _move_aside(self, step: int) -> str | None:
    """Moves the step's directory aside on process 0 (where it went); every process then
    rereads the directory, once the move is done."""
    target = None
    if jax.process_index() == 0:
      target = os.path.join(self.workdir, 'corrupt_checkpoints', f'{step}.{int(time.time())}')
      storage.move_tree(os.path.join(self.directory, str(step)), target)
    if jax.process_count() > 1:
      multihost_utils.sync_global_devices(f'genjax checkpoint {step} moved aside')
    self._manager.reload()
    return target

  def wait(self) -> None:
    self._manager.wait_until_finished()

  def close(self) -> None:
    self._manager.close()


# TensorStore raises every failure as a ValueError whose message starts with its status code
# (INVALID_ARGUMENT's is dropped). These are the codes it gives bytes that do not decode and
# files that are absent or short; the rest (UNKNOWN for EIO, UNAVAILABLE, PERMISSION_DENIED,
# RESOURCE_EXHAUSTED, ...) are about the storage, not the checkpoint.
_STATUS_CODES = frozenset((
    'CANCELLED', 'UNKNOWN', 'INVALID_ARGUMENT', 'DEADLINE_EXCEEDED', 'NOT_FOUND',
    'ALREADY_EXISTS', 'PERMISSION_DENIED', 'RESOURCE_EXHAUSTED', 'FAILED_PRECONDITION',
    'ABORTED', 'OUT_OF_RANGE', 'UNIMPLEMENTED', 'INTERNAL', 'UNAVAILABLE', 'DATA_LOSS',
    'UNAUTHENTICATED'))
_FORMAT_CODES = frozenset(('DATA_LOSS', 'OUT_OF_RANGE', 'NOT_FOUND', 'FAILED_PRECONDITION'))
_STATUS = re.compile(r'([A-Z_]+): ')
# TensorStore appends the errno of a failed system call, as `[os_error_code='13']` or, in
# older versions, `[OS error 13: ...]`. ENOENT is a missing file; any other is the storage's,
# whatever the status code (EBUSY gives FAILED_PRECONDITION, EFBIG OUT_OF_RANGE).
_OS_ERROR = re.compile(r"os_error_code='?(\d+)|\[OS error (\d+)")


def _chain(e: BaseException) -> list[BaseException]:
  links = []
  while e is not None and all(e is not seen for seen in links):
    links.append(e)
    e = e.__cause__ or (None if e.__suppress_context__ else e.__context__)
  return links


def _is_environment_error(e: BaseException) -> bool:
  """Whether `e` is about the machine or its storage rather than the bytes read."""
  if not isinstance(e, Exception):  # an interrupt that Orbax wrapped in an Exception
    return True
  if isinstance(e, (MemoryError, OSError)):
    return not isinstance(e, FileNotFoundError)
  if isinstance(e, ValueError):
    os_error = _OS_ERROR.search(str(e))
    if os_error and int(os_error.group(1) or os_error.group(2)) != errno.ENOENT:
      return True
    status = _STATUS.match(str(e))
    return bool(status and status.group(1) in _STATUS_CODES
                and status.group(1) not in _FORMAT_CODES)
  return False


def _is_format_error(e: BaseException) -> bool:
  """Whether `e`, raised by Orbax reading a checkpoint, says its files are not in a readable
  format. What reading missing, truncated and garbled files raises: FileNotFoundError;
  ValueError from the JSON, UTF-8, msgpack and TensorStore decoders or from a tree that does
  not match its own metadata; KeyError and AttributeError from metadata that parses but lacks
  its fields. Not when anything in its chain of causes is an environment error."""
  if any(_is_environment_error(link) for link in _chain(e)):
    return False
  return isinstance(_reader_error(e),
                    (FileNotFoundError, ValueError, KeyError, AttributeError))


def _reader_error(e: BaseException) -> BaseException | None:
  # Orbax reraises a failed array read as a bare Exception from the reader's error.
  return next((link for link in _chain(e) if type(link) is not Exception), None)


def _flatten(tree: Mapping[str, Any], prefix: str = '') -> dict[str, Any]:
  out = {}
  for key, value in tree.items():
    if isinstance(value, Mapping):
      out.update(_flatten(value, f'{prefix}{key}.'))
    else:
      out[f'{prefix}{key}'] = value
  return out


def _differences(saved: Mapping[str, Any], wanted: Mapping[str, Any]) -> str:
  """'model.latent_dim: 20 in the checkpoint, 5 in this run; ...' for the fields that differ."""
  a, b = _flatten(saved), _flatten(wanted)
  return '; '.join(f'{key}: {a.get(key, "absent")} in the checkpoint, '
                   f'{b.get(key, "absent")} in this run'
                   for key in sorted(set(a) | set(b)) if a.get(key) != b.get(key))


def _first_line(e: BaseException) -> str:
  text = str(e).strip()
  return (text.splitlines()[0] if text else type(e).__name__)[:200]


def _json_normal(tree: Mapping[str, Any]) -> dict:
  return json.loads(json.dumps(dict(tree)))
