"""One run: what its steps share (config, family, data, mesh, outputs), its initial state,
and its restore from the workdir's latest checkpoint."""

from __future__ import annotations

import dataclasses
import datetime
import logging
import os
import time

import jax
import ml_collections
import numpy as np
from jax.sharding import Mesh

from genjax import config as config_lib
from genjax.errors import UserError
from genjax.training import mesh as mesh_lib
from genjax.training.checkpoint import Checkpointer
from genjax.training.family import Data, Family, to_numpy
from genjax.training.progress import MetricsWriter
from genjax.training.state import TrainState, create_train_state, eval_params

logger = logging.getLogger(__name__)

EVAL_HEARTBEAT_SECONDS = 20.0  # an evaluation longer than this logs how far it has got


@dataclasses.dataclass
class Run:
  """What one run's steps share: the config, the built family, its data and its outputs."""
  config: ml_collections.ConfigDict
  workdir: str
  family: Family
  data: Data
  mesh: Mesh
  frozen: object
  writer: MetricsWriter
  eval_rng: jax.Array
  figure_rng: jax.Array
  _config_written: bool = False

  @property
  def is_lead(self) -> bool:
    return jax.process_index() == 0

  def evaluate(self, state: TrainState, step: int, eval_step, split: str,
               max_examples: int, name: str = '') -> dict[str, float]:
    """The family's per-example metrics averaged over one eval split; written and logged."""
    sums, count = None, 0.0
    batches = self.data.splits[split](self.config.eval_batch_size, jax.process_index(),
                                      jax.process_count(), max_examples)
    total = len(batches) if hasattr(batches, '__len__') else 0
    start = last = time.perf_counter()
    for i, local in enumerate(batches):
      s, c = eval_step(eval_params(state), state.model_state,
                       mesh_lib.global_batch(local, self.mesh),
                       jax.random.fold_in(self.eval_rng, i), self.frozen)
      sums = s if sums is None else jax.tree.map(lambda a, b: a + b, sums, s)
      count = count + c
      if time.perf_counter() - last >= EVAL_HEARTBEAT_SECONDS:
        jax.block_until_ready(count)  # time what has run, not what has been queued
        last = time.perf_counter()
        _log_eval_progress(step, name or split, i + 1, total, last - start)
    if sums is None:
      raise UserError(f"The '{split}' split of the data is empty; there is nothing to "
                      'evaluate. Check the dataset\'s files (--config.data).')
    means = {key: np.asarray(v) / float(count) for key, v in jax.device_get(sums).items()}
    if self.family.eval_summary is not None:
      means = self.family.eval_summary(means)
    means = {key: float(v) for key, v in means.items()}
    self.writer.write(step, name or split, means)
    logger.info('step %d  %s: %s', step, name or split,
                 '  '.join(f'{key} {v:.4f}' for key, v in means.items()))
    return means

  def save(self, checkpointer: Checkpointer, state: TrainState, step: int,
           skipped: list[int]) -> None:
    """Saves a checkpoint; the first save of this invocation writes config.json beside it,
    so a run that fails before saving anything leaves the workdir as it found it."""
    if self.is_lead and not self._config_written:
      with open(os.path.join(self.workdir, 'config.json'), 'w') as f:
        f.write(self.config.to_json(indent=2))
    self._config_written = True
    checkpointer.save(state, data_position=step, skipped_batches=skipped)

  def write_artifacts(self, state: TrainState, step: int) -> dict[str, float]:
    """Saves the family's artifacts (and figures) at `step`; returns their numeric scalars."""
    if self.family.artifacts_fn is None or not self.is_lead:
      return {}
    artifacts = to_numpy(self.family.artifacts_fn(
        to_numpy(eval_params(state)), to_numpy(state.model_state),
        jax.random.fold_in(self.figure_rng, step), to_numpy(self.frozen)))
    scalars = {key: float(v) for key, v in artifacts.items()
               if v.ndim == 0 and np.issubdtype(v.dtype, np.number)}
    if scalars:
      self.writer.write(step, 'artifacts', scalars)
    os.makedirs(os.path.join(self.workdir, 'artifacts'), exist_ok=True)
    path = os.path.join(self.workdir, 'artifacts', f'step_{step:08d}.npz')
    np.savez_compressed(path, **artifacts)
    if self.family.render_figures is not None:
      pngs = self.family.render_figures(path, os.path.join(self.workdir, 'figures'))
      logger.info('figures: %s', ', '.join(pngs))
    return scalars


def _log_eval_progress(step: int, name: str, done: int, total: int, seconds: float) -> None:
  rate = done / max(seconds, 1e-9)
  if total:
    eta = datetime.timedelta(seconds=int((total - done) / rate))
    logger.info('step %d  %s: evaluating, batch %d/%d (%.0f%%), %.2f batches/s, ETA %s',
                step, name, done, total, 100 * done / total, rate, eta)
  else:
    logger.info('step %d  %s: evaluating, batch %d, %.2f batches/s', step, name, done, rate)


def run_keys(seed: int) -> dict[str, jax.Array]:
  """The run's four keys: params init, the state's base rng, evaluation and figures."""
  return dict(zip(('init', 'state', 'eval', 'figures'),
                  jax.random.split(jax.random.PRNGKey(seed), 4)))


def initial_state(run: Run, optimizer, example) -> TrainState:
  """The family's freshly initialised train state, replicated over the mesh."""
  keys = run_keys(run.config.seed)
  init_rng, state_rng = keys['init'], keys['state']
  family = run.family

  def create(rng):
    params = family.init_params(rng, example)
    model_state = (family.init_model_state(jax.random.fold_in(rng, 1), example, params)
                   if family.init_model_state else None)
    return create_train_state(params, optimizer, state_rng, ema=run.config.ema_decay > 0,
                              model_state=model_state)

  return jax.jit(create, out_shardings=mesh_lib.replicated(run.mesh))(init_rng)


def restore_or_init(run: Run, checkpointer: Checkpointer,
                    optimizer) -> tuple[TrainState, int, list[int]]:
  """The latest checkpoint's state, step and skipped batches, or a fresh state at step 0."""
  state = initial_state(run, optimizer, run.data.train.batch(0))
  restored = checkpointer.restore_latest(state)
  if restored is None:
    return state, 0, []
  state, meta = restored
  start = int(meta['data_position'])
  logger.info('resumed from %s at step %d', checkpointer.directory, start)
  if start % run.config.steps_per_call:
    raise config_lib.ConfigError(
        f'The checkpoint is at step {start}, not a multiple of '
        f'steps_per_call={run.config.steps_per_call}; resume with the steps_per_call that '
        'wrote it.')
  return state, start, list(meta.get('skipped_batches', []))
