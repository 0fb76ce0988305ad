"""Reading a finished (or running) run back from its workdir, without the training loop.

Tools that use a trained network (the Fréchet classifier, a diffusion model's sampler
sweeps) rebuild the train state's shape from the run's saved config.json and restore its
latest checkpoint's eval params (EMA when the run kept them).
"""

from __future__ import annotations

import json
import os
from typing import Any, Mapping

import jax
import ml_collections
import orbax.checkpoint as ocp

from genjax.training.checkpoint import Checkpointer
from genjax.training.optimizers import make_optimizer
from genjax.training.state import create_train_state, eval_params


def read_run_config(workdir: str, family: str, train_command: str) -> ml_collections.ConfigDict:
  """The config a `family` run saved in workdir; refuses other families and empty dirs."""
  path = os.path.join(workdir, 'config.json')
  if not os.path.exists(path):
    raise FileNotFoundError(f'{workdir} holds no genjax run (no config.json); '
                            f'train one with {train_command}')
  with open(path) as f:
    config = ml_collections.ConfigDict(json.load(f))
  if config.family != family:
    raise ValueError(f'{workdir} holds a {config.family!r} run, not a {family} run; '
                     f'point at a {family} workdir, or train one with {train_command}')
  return config


def latest_signature(workdir: str, train_command: str) -> dict[str, Any]:
  """The model signature the latest checkpoint was saved with (family, model, shapes)."""
  directory = os.path.join(os.path.abspath(workdir), 'checkpoints')
  manager = ocp.CheckpointManager(directory, item_names=('state', 'meta'))
  try:
    step = manager.latest_step()
    if step is None:
      raise FileNotFoundError(f'No checkpoint in {directory} yet; wait for the run\'s first '
                              f'checkpoint (ckpt_every) or train one with {train_command}')
    return manager.restore(step, args=ocp.args.Composite(
        meta=ocp.args.JsonRestore()))['meta']['signature']
  finally:
    manager.close()


def restore_eval_params(workdir: str, config: ml_collections.ConfigDict, params_template,
                        signature: Mapping[str, Any]):
  """(eval params, step) of the latest checkpoint; `params_template` gives the shapes."""
  checkpointer = Checkpointer(workdir, keep=max(1, config.keep_checkpoints),
                              signature=signature)
  try:
    abstract = jax.eval_shape(lambda p: create_train_state(
        p, make_optimizer(config.optimizer), jax.random.PRNGKey(0),
        ema=config.ema_decay > 0), params_template)
    state, meta = checkpointer.restore_latest(abstract)
  finally:
    checkpointer.close()
  return eval_params(state), int(meta['step'])
