"""Orbax checkpoints of the whole train state plus the data position and model signature.

Orbax writes each checkpoint to a temporary directory and renames it when complete, so a
crash or kill mid-save leaves the previous checkpoint intact and usable. Each checkpoint's
metadata also holds a digest of every array (`genjax.training.digest`) and of the state's
layout: a restore whose arrays do not match their digest, or that Orbax cannot read, is
moved aside to `<workdir>/corrupt_checkpoints/` with a one-line warning, and the previous
checkpoint is tried.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import time
from typing import Any, Mapping

import jax
import orbax.checkpoint as ocp

from genjax.errors import UserError
from genjax.training import digest

logger = logging.getLogger(__name__)


class CheckpointMismatchError(ValueError, UserError):
  """The workdir holds a checkpoint of a different model."""


class NoUsableCheckpointError(UserError):
  """Every checkpoint in the workdir is corrupt or unreadable."""


class _Unusable(Exception):
  """One checkpoint cannot be used; the message says why, in one line."""


class Checkpointer:
  """Saves and restores {state, meta} under `<workdir>/checkpoints/<step>`."""

  def __init__(self, workdir: str, *, keep: int, signature: Mapping[str, Any],
               upstream: Mapping[str, Any] | None = None):
    self.workdir = os.path.abspath(workdir)
    self.directory = os.path.join(self.workdir, 'checkpoints')
    self._signature = _json_normal(signature)
    # The run whose params this one reads frozen: recorded, and checked on resume.
    self._upstream = None if upstream is None else _json_normal(upstream)
    self._manager = ocp.CheckpointManager(
        self.directory,
        options=ocp.CheckpointManagerOptions(max_to_keep=keep, create=True),
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
    no checkpoint. Corrupt ones are moved aside; a checkpoint of another model raises."""
    failures = []
    for step in sorted(self._manager.all_steps(), reverse=True):
      try:
        return self._restore(step, abstract_state)
      except _Unusable as e:
        failures.append(f'step {step}: {e}')
        moved = self._move_aside(step)
        logger.warning('Checkpoint %d is unusable (%s); moved it to %s and trying the '
                        'previous one.', step, e, moved)
    if failures:
      raise NoUsableCheckpointError(
          f'No usable checkpoint in {self.directory} ({"; ".join(failures)}); the unusable '
          f'ones are in {os.path.join(self.workdir, "corrupt_checkpoints")}. Start over with '
          'a fresh --workdir.')
    return None

  def _restore(self, step: int, abstract_state) -> tuple[Any, dict]:
    try:
      meta = self._manager.restore(step, args=ocp.args.Composite(
          meta=ocp.args.JsonRestore()))['meta']
    except Exception as e:  # pylint: disable=broad-except
      raise _Unusable(f'its metadata is unreadable: {_first_line(e)}') from e
    if not isinstance(meta, dict) or 'signature' not in meta:
      raise _Unusable('its metadata is empty or incomplete')
    self._check_compatible(step, meta, abstract_state)
    target = jax.tree.map(ocp.utils.to_shape_dtype_struct, abstract_state)
    try:
      state = self._manager.restore(step, args=ocp.args.Composite(
          state=ocp.args.StandardRestore(target)))['state']
    except Exception as e:  # pylint: disable=broad-except
      if 'layout' not in meta:  # written before layouts were recorded: the old guess
        raise CheckpointMismatchError(
            f'The checkpoint at {self.directory}/{step} does not fit this run\'s train state '
            '(optimizer or ema_decay changed?). Use a fresh --workdir, or the config that '
            f'wrote it. Orbax says: {_first_line(e)}') from e
      raise _Unusable(f'its arrays are unreadable: {_first_line(e)}') from e
    if 'digest' in meta and digest.state_digest(state) != meta['digest']:
      raise _Unusable('its arrays do not match the digest saved with them')
    return state, meta

  def _check_compatible(self, step: int, meta: dict, abstract_state) -> None:
    where = f'{self.directory}/{step}'
    if meta.get('signature') != self._signature:
      raise CheckpointMismatchError(
          f'The checkpoint at {where} was written by a different model '
          f'({_differences(meta.get("signature") or {}, self._signature)}). Use a fresh '
          '--workdir, or the config that wrote it.')
    saved_upstream = (meta.get('upstream') or {}).get('signature')
    if saved_upstream != (self._upstream or {}).get('signature'):
      raise CheckpointMismatchError(
          f'The checkpoint at {where} was trained on another upstream run:\n'
          f'  checkpoint: {meta.get("upstream")}\n  this run:   {self._upstream}\n'
          'Point the run at the upstream it was trained on, or use a fresh --workdir.')
    if 'layout' in meta and meta['layout'] != digest.layout(abstract_state):
      raise CheckpointMismatchError(
          f'The checkpoint at {where} holds a train state of another layout than this '
          'run\'s (the optimizer, ema_decay or model state changed). Use a fresh --workdir, '
          'or the config that wrote it.')

  def _move_aside(self, step: int) -> str:
    target = os.path.join(self.workdir, 'corrupt_checkpoints', f'{step}.{int(time.time())}')
    os.makedirs(os.path.dirname(target), exist_ok=True)
    shutil.move(os.path.join(self.directory, str(step)), target)
    self._manager.reload()
    return target

  def wait(self) -> None:
    self._manager.wait_until_finished()

  def close(self) -> None:
    self._manager.close()


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


def _first_line(e: Exception) -> str:
  text = str(e).strip()
  return (text.splitlines()[0] if text else type(e).__name__)[:200]


def _json_normal(tree: Mapping[str, Any]) -> dict:
  return json.loads(json.dumps(dict(tree)))
