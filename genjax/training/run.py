"""One run: what its steps share (config, family, data, mesh, outputs), its evaluation and
artifacts, and its restore from the workdir's latest checkpoint."""

from __future__ import annotations

import dataclasses
import datetime
import logging
import os
import tempfile
import time

import jax
import ml_collections
import numpy as np
from etils import epath
from jax.sharding import Mesh

from genjax import config as config_lib
from genjax.data import info_file
from genjax.data.family_data import Data
from genjax.errors import UserError
from genjax.training import mesh as mesh_lib
from genjax.training import remote_figures, storage
from genjax.training.assemble import Assembled
from genjax.training.checkpoint import Checkpointer
from genjax.training.family import Family, StepContext, to_numpy
from genjax.training.progress import MetricsWriter
from genjax.training.state import TrainState, eval_params

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
  _figures_mirror: tempfile.TemporaryDirectory | None = None  # for a workdir not local

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
    summary = self.family.reporting.eval_summary
    if summary is not None:
      means = summary(means)
    means = {key: float(v) for key, v in means.items()}
    self.writer.write(step, name or split, means)
    logger.info('step %d  %s: %s', step, name or split,
                 '  '.join(f'{key} {v:.4f}' for key, v in means.items()))
    return means

  def save(self, checkpointer: Checkpointer, state: TrainState, step: int,
           skipped: list[int]) -> None:
    """Saves a checkpoint; the first save of this invocation writes config.json and the
    data's description (`genjax.data.info_file`, which `genjax.load` builds the model
    from) beside it, so a run that fails before saving anything leaves the workdir as it
    found it."""
    if self.is_lead and not self._config_written:
      (epath.Path(self.workdir) / 'config.json').write_text(self.config.to_json(indent=2))
      info_file.write(self.data.info, self.workdir)
    self._config_written = True
    checkpointer.save(state, data_position=step, skipped_batches=skipped)

  def write_artifacts(self, state: TrainState, step: int) -> dict[str, float]:
    """Saves the family's artifacts (and figures) at `step`; returns their numeric scalars."""
    reporting = self.family.reporting
    if reporting.artifacts_fn is None:
      return {}
    params, model_state = eval_params(state), state.model_state
    if jax.process_count() > 1:  # a state split over hosts is read whole, by all of them
      params, model_state = mesh_lib.gather((params, model_state), self.mesh)
    if not self.is_lead:
      return {}
    context = StepContext(model_state=to_numpy(model_state), frozen=to_numpy(self.frozen))
    artifacts = to_numpy(reporting.artifacts_fn(
        to_numpy(params), jax.random.fold_in(self.figure_rng, step), context))
    scalars = {key: float(v) for key, v in artifacts.items()
               if v.ndim == 0 and np.issubdtype(v.dtype, np.number)}
    if scalars:
      self.writer.write(step, 'artifacts', scalars)
    (epath.Path(self.workdir) / 'artifacts').mkdir(parents=True, exist_ok=True)
    path = os.path.join(self.workdir, 'artifacts', f'step_{step:08d}.npz')
    with epath.Path(path).open('wb') as f:
      np.savez_compressed(f, **artifacts)
    if reporting.render_figures is not None:
      pngs = self._render_figures(path)
      logger.info('figures: %s', ', '.join(pngs))
      self.writer.tensorboard.figures(step, pngs)
    return scalars

  def _render_figures(self, npz_path: str) -> list[str]:
    if storage.is_local(self.workdir):
      return self.family.reporting.render_figures(npz_path,
                                                  os.path.join(self.workdir, 'figures'))
    if self._figures_mirror is None:
      self._figures_mirror = tempfile.TemporaryDirectory(prefix='genjax-figures-')
    return remote_figures.render(self.family.reporting.render_figures, self.workdir,
                                 os.path.basename(npz_path), self._figures_mirror.name)


def _log_eval_progress(step: int, name: str, done: int, total: int, seconds: float) -> None:
  rate = done / max(seconds, 1e-9)
  if total:
    eta = datetime.timedelta(seconds=int((total - done) / rate))
    logger.info('step %d  %s: evaluating, batch %d/%d (%.0f%%), %.2f batches/s, ETA %s',
                step, name, done, total, 100 * done / total, rate, eta)
  else:
    logger.info('step %d  %s: evaluating, batch %d, %.2f batches/s', step, name, done, rate)


def restore_or_init(assembled: Assembled,
                    checkpointer: Checkpointer) -> tuple[TrainState, int, list[int]]:
  """The latest checkpoint's state, step and skipped batches, or a fresh state at step 0."""
  state = assembled.initial_state()
  restored = checkpointer.restore_latest(state)
  if restored is None:
    return state, 0, []
  state, meta = restored
  start = int(meta['data_position'])
  logger.info('resumed from %s at step %d', checkpointer.directory, start)
  if start % assembled.config.steps_per_call:
    raise config_lib.ConfigError(
        f'The checkpoint is at step {start}, not a multiple of '
        f'steps_per_call={assembled.config.steps_per_call}; resume with the steps_per_call '
        'that wrote it.')
  return state, start, list(meta.get('skipped_batches', []))
