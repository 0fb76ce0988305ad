"""Orbax checkpoints of the whole train state plus the data position and model signature.

Orbax writes each checkpoint to a temporary directory and renames it when complete, so a
crash or kill mid-save leaves the previous checkpoint intact and usable.
"""

from __future__ import annotations

import json
import os
from typing import Any, Mapping

import jax
import orbax.checkpoint as ocp


class CheckpointMismatchError(ValueError):
  """The workdir holds a checkpoint of a different model."""


class Checkpointer:
  """Saves and restores {state, meta} under `<workdir>/checkpoints/<step>`."""

  def __init__(self, workdir: str, *, keep: int, signature: Mapping[str, Any],
               upstream: Mapping[str, Any] | None = None):
    self.directory = os.path.join(os.path.abspath(workdir), 'checkpoints')
    self._signature = _json_normal(signature)
    # The run whose params this one reads frozen: recorded, and checked on resume.
    self._upstream = None if upstream is None else _json_normal(upstream)
    self._manager = ocp.CheckpointManager(
        self.directory,
        options=ocp.CheckpointManagerOptions(max_to_keep=keep, create=True),
        item_names=('state', 'meta'))

  def latest_step(self) -> int | None:
    return self._manager.latest_step()

  def save(self, state, *, data_position: int) -> None:
    step = int(jax.device_get(state.step))
    if step in self._manager.all_steps():
      return
    meta = {'signature': self._signature, 'data_position': data_position, 'step': step,
            'upstream': self._upstream}
    self._manager.save(step, args=ocp.args.Composite(state=ocp.args.StandardSave(state),
                                                      meta=ocp.args.JsonSave(meta)))

  def restore_latest(self, abstract_state) -> tuple[Any, dict] | None:
    """The latest (state, meta), laid out like `abstract_state`; None when there is none."""
    step = self.latest_step()
    if step is None:
      return None
    meta = self._manager.restore(step, args=ocp.args.Composite(
        meta=ocp.args.JsonRestore()))['meta']
    if meta.get('signature') != self._signature:
      raise CheckpointMismatchError(
          f'The checkpoint at {self.directory}/{step} was written by a different model:\n'
          f'  checkpoint: {meta.get("signature")}\n  this run:   {self._signature}\n'
          'Use a fresh --workdir, or the config that wrote it.')
    saved_upstream = (meta.get('upstream') or {}).get('signature')
    if saved_upstream != (self._upstream or {}).get('signature'):
      raise CheckpointMismatchError(
          f'The checkpoint at {self.directory}/{step} was trained on another upstream run:\n'
          f'  checkpoint: {meta.get("upstream")}\n  this run:   {self._upstream}\n'
          'Point the run at the upstream it was trained on, or use a fresh --workdir.')
    target = jax.tree.map(ocp.utils.to_shape_dtype_struct, abstract_state)
    try:
      restored = self._manager.restore(step, args=ocp.args.Composite(
          state=ocp.args.StandardRestore(target)))
    except ValueError as e:  # same model, different optimiser or EMA setting
      raise CheckpointMismatchError(
          f'The checkpoint at {self.directory}/{step} does not fit this run\'s train state '
          '(optimizer or ema_decay changed?). Use a fresh --workdir, or the config that '
          f'wrote it.\nOrbax says: {str(e).splitlines()[0]}') from e
    return restored['state'], meta

  def wait(self) -> None:
    self._manager.wait_until_finished()

  def close(self) -> None:
    self._manager.close()


def _json_normal(tree: Mapping[str, Any]) -> dict:
  return json.loads(json.dumps(dict(tree)))
