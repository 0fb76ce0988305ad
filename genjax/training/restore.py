"""The one reader of saved runs: a run's config, params, EMA params and model state.

Everything that uses a trained network reads it with `load_run(workdir)`: `genjax.load`
(and through it the tools of `genjax.tools`), the Fréchet classifier, a second stage over
a first stage's codes. Nothing is rebuilt: no model, no optimiser. The checkpoint's
arrays come back in the layout they were saved in, which is the layout `model.apply`
takes, so a reader rebuilds its network from `run.signature` (or `genjax.load` from the
run's config, through its family's `build`) and applies `run.eval_params`.

An exported run (`genjax.training.exported`, written by `python -m genjax.export`) reads
the same way: a tool given its directory instead of a workdir sees the same SavedRun.
"""

from __future__ import annotations

import dataclasses
import json
import os
from typing import Any, Mapping

import jax
import ml_collections
import numpy as np
from etils import epath, epy

with epy.lazy_imports():  # at first use, as genjax.training.checkpoint does
  import orbax.checkpoint as ocp

from genjax.commands import canonical_family, canonical_signature
from genjax.errors import UserError
from genjax.training import exported, storage


class RunNotFoundError(FileNotFoundError, UserError):
  """The workdir holds no run, or no checkpoint of it yet."""


class WrongFamilyError(ValueError, UserError):
  """The workdir holds a run of another family."""


@dataclasses.dataclass(frozen=True)
class SavedRun:
  """A run as its latest checkpoint left it.

  Attributes:
    workdir: the run's workdir, absolute (or a URI: gs://...).
    config: the config the run saved (config.json).
    step: the checkpoint's step.
    signature: the model signature checkpoints are marked with ({'family', 'model', ...}).
    params: the trained params; a GAN's are {'generator': ..., 'discriminator': ...}.
    ema_params: the EMA params, or None when the run kept none.
    model_state: BatchNorm statistics, codebook counts...; None when the run kept none.
    upstream: the run this run read its frozen params from, or None.
    finished: whether the run had finished (its final metrics are of this step).
  """
  workdir: str
  config: ml_collections.ConfigDict
  step: int
  signature: Mapping[str, Any]
  params: Any
  ema_params: Any
  model_state: Any
  upstream: Mapping[str, Any] | None
  finished: bool = False

  @property
  def eval_params(self):
    """EMA weights when the run keeps them, as sampling and evaluation should use."""
    return self.ema_params if self.ema_params is not None else self.params

  def record(self) -> dict[str, Any]:
    """What a second stage records of this run in its own checkpoints."""
    return {'workdir': self.workdir, 'step': self.step, 'signature': dict(self.signature)}


def read_run_config(workdir: str, family: str, train_command: str) -> ml_collections.ConfigDict:
  """The config a `family` run saved in workdir; refuses other families and empty dirs."""
  path = epath.Path(workdir) / 'config.json'
  if not path.exists():
    raise RunNotFoundError(f'{workdir} holds no genjax run (no config.json); '
                            f'train one with {train_command}')
  config = ml_collections.ConfigDict(json.loads(path.read_text()))
  if 'family' in config:  # a run saved under a family's former name reads as the new one
    config.family = canonical_family(config.family)
  if family and config.family != canonical_family(family):
    raise WrongFamilyError(f'{workdir} holds a {config.family!r} run, not a {family} run; '
                     f'point at a {family} workdir, or train one with {train_command}')
  return config


def load_run(workdir: str, *, family: str = '', train_command: str = '') -> SavedRun:
  """The latest checkpoint of the run in `workdir`.

  Args:
    workdir: a run's --workdir.
    family: when set, a run of another family is refused.
    train_command: the command that trains such a run, named in every refusal.

  Returns:
    A SavedRun whose arrays are NumPy arrays on the host.
  """
  train_command = train_command or 'the experiment main that trains it'
  if exported.is_export(workdir):
    return _load_export(workdir, family, train_command)
  config = read_run_config(workdir, family, train_command)
  directory = os.path.join(storage.absolute(workdir), 'checkpoints')
  manager = ocp.CheckpointManager(directory, item_names=('state', 'meta'))
  try:
    step = manager.latest_step()
    if step is None:
      raise RunNotFoundError(f'No checkpoint in {directory} yet; wait for the run\'s first '
                              f'checkpoint (ckpt_every) or train one with {train_command}')
    meta = manager.restore(step, args=ocp.args.Composite(meta=ocp.args.JsonRestore()))['meta']
    # A run saved over several devices (another machine's GPUs, a forced CPU mesh) is
    # read onto this process's first device: without the fallback, Orbax refuses the
    # other topology.
    state = manager.restore(step, args=ocp.args.Composite(state=ocp.args.StandardRestore(
        fallback_sharding=jax.sharding.SingleDeviceSharding(jax.local_devices()[0]))))['state']
  finally:
    manager.close()
  host = lambda tree: None if tree is None else jax.tree.map(np.asarray, tree)
  return SavedRun(workdir=storage.absolute(workdir), config=config, step=int(step),
                  signature=canonical_signature(meta['signature']),
                  params=host(state['params']),
                  ema_params=host(state.get('ema_params')),
                  model_state=host(state.get('model_state')), upstream=meta.get('upstream'),
                  finished=_finished_at(workdir) == int(step))


def _finished_at(workdir: str) -> int | None:
  """The step of the run's final metrics; None while it has none."""
  path = epath.Path(workdir) / 'final_metrics.json'
  if not path.exists():
    return None
  return json.loads(path.read_text()).get('step')


def _load_export(directory: str, family: str, train_command: str) -> SavedRun:
  parts = exported.read(directory)
  config, record = ml_collections.ConfigDict(parts['config']), parts['record']
  config.family = canonical_family(config.family)
  if family and config.family != canonical_family(family):
    raise WrongFamilyError(f'{directory} holds an exported {config.family!r} model, not a '
                           f'{family} one; point at a {family} run, or train one with '
                           f'{train_command}')
  upstream = record.get('upstream')
  if upstream is not None:  # the export holds its first stage in a folder of its own
    upstream = {**upstream, 'workdir': os.path.join(storage.absolute(directory),
                                                    upstream['workdir'])}
  return SavedRun(workdir=storage.absolute(directory), config=config, step=record['step'],
                  signature=canonical_signature(record['signature']),
                  params=parts['params'], ema_params=None,
                  model_state=parts['model_state'], upstream=upstream,
                  finished=record['finished'])
