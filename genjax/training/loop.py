"""The one training loop: every model family runs through `train_and_evaluate`.

The loop knows no family by name. A main hands it a `FamilyDef`; the family supplies its
data, model, objective and sampler (see `genjax.training.family`), and the loop runs the
same steps for all: validate, build, restore, train with periodic evaluation, checkpoints
and figures, then evaluate once more at the end.
"""

from __future__ import annotations

import dataclasses
import json
import os

import jax
import ml_collections
import numpy as np
from absl import logging
from jax.sharding import Mesh

from genjax import config as config_lib
from genjax.training import mesh as mesh_lib
from genjax.training.checkpoint import Checkpointer
from genjax.training.family import Data, Family, FamilyDef, to_numpy
from genjax.training.optimizers import make_optimizer
from genjax.training.progress import MetricsWriter, Progress
from genjax.training.state import TrainState, create_train_state, eval_params
from genjax.training.step import make_eval_step, make_train_step
from genjax.training.update import gradient_update


def eval_schedule(config: ml_collections.ConfigDict, total: int) -> set[int]:
  """Steps at which to evaluate: every `eval_every`, log-spaced extras, and the end."""
  k = config.steps_per_call
  steps = {total}
  if config.eval_every:
    steps |= set(range(config.eval_every, total + 1, config.eval_every))
  if config.eval_log_points:
    for s in np.geomspace(k, total, config.eval_log_points):
      steps.add(int(-(-int(s) // k) * k))
  return {s for s in steps if 0 < s <= total}


def _due(step: int, every: int) -> bool:
  return bool(every) and step % every == 0


def check_family(config: ml_collections.ConfigDict, family_def: FamilyDef) -> None:
  """Refuses a config written for another family, and validates it against the schema."""
  if config.family != family_def.name:
    raise config_lib.ConfigError(
        f"This is a '{config.family}' config, but this main trains the "
        f"'{family_def.name}' family. Run the config with its own family's main, or pass "
        f"a '{family_def.name}' config (configs/<name>.py).")
  config_lib.validate(config, family_def.schema())


def family_optimizer(family: Family, config: ml_collections.ConfigDict):
  """The family's own optimiser(s) when it brings them, else the config's `optimizer`."""
  return family.make_optimizer() if family.make_optimizer else make_optimizer(config.optimizer)


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

  @property
  def is_lead(self) -> bool:
    return jax.process_index() == 0

  def evaluate(self, state: TrainState, step: int, eval_step, split: str,
               max_examples: int, name: str = '') -> dict[str, float]:
    """The family's per-example metrics averaged over one eval split; written and logged."""
    sums, count = None, 0.0
    batches = self.data.splits[split](self.config.eval_batch_size, jax.process_index(),
                                      jax.process_count(), max_examples)
    for i, local in enumerate(batches):
      s, c = eval_step(eval_params(state), state.model_state,
                       mesh_lib.global_batch(local, self.mesh),
                       jax.random.fold_in(self.eval_rng, i), self.frozen)
      sums = s if sums is None else jax.tree.map(lambda a, b: a + b, sums, s)
      count = count + c
    if sums is None:
      raise ValueError(f"The '{split}' split is empty; nothing to evaluate.")
    means = {key: float(v) / float(count) for key, v in jax.device_get(sums).items()}
    self.writer.write(step, name or split, means)
    logging.info('step %d  %s: %s', step, name or split,
                 '  '.join(f'{key} {v:.4f}' for key, v in means.items()))
    return means

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
      logging.info('figures: %s', ', '.join(pngs))
    return scalars


def initial_state(run: Run, optimizer, example) -> TrainState:
  """The family's freshly initialised train state, replicated over the mesh."""
  init_rng, state_rng = jax.random.split(jax.random.PRNGKey(run.config.seed), 4)[:2]
  family = run.family

  def create(rng):
    params = family.init_params(rng, example)
    model_state = (family.init_model_state(jax.random.fold_in(rng, 1), example, params)
                   if family.init_model_state else None)
    return create_train_state(params, optimizer, state_rng, ema=run.config.ema_decay > 0,
                              model_state=model_state)

  return jax.jit(create, out_shardings=mesh_lib.replicated(run.mesh))(init_rng)


def restore_or_init(run: Run, checkpointer: Checkpointer, optimizer) -> tuple[TrainState, int]:
  """The latest checkpoint's state and data position, or a fresh state at step 0."""
  state = initial_state(run, optimizer, run.data.train.batch(0))
  restored = checkpointer.restore_latest(state)
  if restored is None:
    return state, 0
  state, meta = restored
  start = int(meta['data_position'])
  logging.info('resumed from %s at step %d', checkpointer.directory, start)
  if start % run.config.steps_per_call:
    raise ValueError(f'The checkpoint is at step {start}, not a multiple of '
                     f'steps_per_call={run.config.steps_per_call}; resume with the '
                     'steps_per_call that wrote it.')
  return state, start


class _PendingMetrics:
  """Per-call train metrics kept on device, fetched only when a log line or save needs them."""

  def __init__(self, checkpointer: Checkpointer):
    self._pending, self._checkpointer = [], checkpointer

  def append(self, metrics) -> None:
    self._pending.append(metrics)

  def drain(self, step: int) -> dict[str, float]:
    """Means since the last drain; raises on a non-finite loss among them."""
    if not self._pending:
      return {}
    fetched = jax.device_get(self._pending)
    self._pending.clear()
    stacked = {key: np.concatenate([np.atleast_1d(m[key]) for m in fetched])
               for key in fetched[0]}
    if not stacked['finite'].all():
      bad = int(np.argmin(stacked['finite']))
      raise FloatingPointError(
          f'The loss became non-finite ({stacked["loss"][bad]}) within the last '
          f'{len(stacked["loss"])} steps before step {step}. The run stopped without saving; '
          f'its checkpoints in {self._checkpointer.directory} hold the last good state. Lower '
          '--config.optimizer.learning_rate or set --config.optimizer.grad_clip_norm.')
    return {key: float(v.mean()) for key, v in stacked.items() if key != 'finite'}


def train(run: Run, state: TrainState, start: int, total: int, train_step, eval_step,
          checkpointer: Checkpointer) -> tuple[TrainState, int]:
  """Steps `start`..`total`, with the config's log, eval, checkpoint and figure intervals;
  returns the state and the step it reached."""
  config, family = run.config, run.family
  k = config.steps_per_call
  progress = Progress(total, start, config.batch_size)
  pending = _PendingMetrics(checkpointer)
  evaluate_at = eval_schedule(config, total)
  step = start
  while step < total:
    batches = mesh_lib.global_batch(run.data.train.stacked(step, k), run.mesh, batch_axis=1)
    state, metrics = train_step(state, batches, run.frozen)
    pending.append(metrics)
    step += k
    if _due(step, config.log_every) or step == total:
      means = pending.drain(step)
      means.update(progress.report(step, means['loss']))
      run.writer.write(step, 'train', means)
    if step in evaluate_at:
      pending.drain(step)
      run.evaluate(state, step, eval_step, 'test', family.eval_examples)
      if family.train_eval_examples and 'train_eval' in run.data.splits:
        run.evaluate(state, step, eval_step, 'train_eval', family.train_eval_examples)
      progress.restart_clock(step)
    if _due(step, config.ckpt_every):
      pending.drain(step)
      checkpointer.save(state, data_position=step)
    if _due(step, config.figures_every) and step < total:  # the end writes its own
      run.write_artifacts(state, step)
      progress.restart_clock(step)
  pending.drain(step)
  checkpointer.save(state, data_position=step)
  return state, step


def train_and_evaluate(family_def: FamilyDef, config: ml_collections.ConfigDict,
                       workdir: str) -> dict[str, float]:
  """Trains `family_def` per `config`, resuming from `workdir`; returns final metrics."""
  check_family(config, family_def)
  os.makedirs(workdir, exist_ok=True)
  mesh = mesh_lib.make_mesh()
  mesh_lib.check_divides(config.batch_size, mesh, 'batch_size')
  mesh_lib.check_divides(config.eval_batch_size, mesh, 'eval_batch_size')
  data = family_def.data(config, jax.process_index(), jax.process_count())
  logging.info('data: %s', data.description)
  family = family_def.build(config, data.info)
  _, _, eval_rng, figure_rng = jax.random.split(jax.random.PRNGKey(config.seed), 4)
  run = Run(config=config, workdir=workdir, family=family, data=data, mesh=mesh,
            frozen=jax.device_put(family.frozen, mesh_lib.replicated(mesh)),
            writer=MetricsWriter(workdir), eval_rng=eval_rng, figure_rng=figure_rng)

  optimizer = family_optimizer(family, config)
  checkpointer = Checkpointer(workdir, keep=config.keep_checkpoints,
                              signature={'family': family.name, **family.signature},
                              upstream=family.upstream)
  try:
    state, start = restore_or_init(run, checkpointer, optimizer)
    if run.is_lead:  # only once the workdir's checkpoint is known to be this model's
      with open(os.path.join(workdir, 'config.json'), 'w') as f:
        f.write(config.to_json(indent=2))
    update = family.update_fn or gradient_update(family.loss_fn, optimizer, config.ema_decay)
    eval_step = make_eval_step(family.eval_fn, mesh)
    total = config_lib.total_steps(config, data.train.num_examples)
    state, step = train(run, state, start, total, make_train_step(update, mesh), eval_step,
                        checkpointer)
    final = {}
    if family.final_eval_fn is not None:
      final = run.evaluate(state, step, make_eval_step(family.final_eval_fn, mesh), 'test',
                           family.eval_examples, name='test_final')
    scalars = run.write_artifacts(state, step)
    if run.is_lead:
      with open(os.path.join(workdir, 'final_metrics.json'), 'w') as f:
        json.dump({'step': step, **final, **scalars}, f, indent=2)
    return final
  finally:
    checkpointer.wait()
    checkpointer.close()
