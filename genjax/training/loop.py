"""The one training loop: every model family runs through `train_and_evaluate`.

The loop knows no family by name. A main hands it a `FamilyDef`; the family supplies its
data, model, objective and sampler (see `genjax.training.family`), and the loop runs the
same steps for all: validate, build, restore, train with periodic evaluation, checkpoints
and figures, then evaluate once more at the end.
"""

from __future__ import annotations

import dataclasses
import json
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
from genjax.training.family import Data, Family, FamilyDef, to_numpy
from genjax.training.optimizers import make_optimizer
from genjax.training.pending import NonFiniteError, PendingMetrics
from genjax.training.positions import stacked_batches
from genjax.training.preemption import Preempted, PreemptionGuard
from genjax.training.progress import MetricsWriter, Progress
from genjax.training.state import TrainState, create_train_state, eval_params
from genjax.training.step import make_eval_step, make_train_step
from genjax.training.update import gradient_update
from genjax.training.workdir_lock import WorkdirLock

logger = logging.getLogger(__name__)


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
  config_lib.validate(config, family_def.schema(), ranges=family_def.ranges)


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
    for i, local in enumerate(batches):
      s, c = eval_step(eval_params(state), state.model_state,
                       mesh_lib.global_batch(local, self.mesh),
                       jax.random.fold_in(self.eval_rng, i), self.frozen)
      sums = s if sums is None else jax.tree.map(lambda a, b: a + b, sums, s)
      count = count + c
    if sums is None:
      raise UserError(f"The '{split}' split of the data is empty; there is nothing to "
                      'evaluate. Check the dataset\'s files (--config.data).')
    means = {key: float(v) / float(count) for key, v in jax.device_get(sums).items()}
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
    raise config_lib.ConfigError(f'The checkpoint is at step {start}, not a multiple of '
                     f'steps_per_call={run.config.steps_per_call}; resume with the '
                     'steps_per_call that wrote it.')
  return state, start, list(meta.get('skipped_batches', []))


_MAX_ROLLBACKS = 10


def train(run: Run, state: TrainState, start: int, skipped: list[int], total: int,
          train_step, eval_step, checkpointer: Checkpointer, progress: Progress,
          preemption: PreemptionGuard) -> tuple[TrainState, int, bool]:
  """Steps `start`..`total`, with the config's log, eval, checkpoint and figure intervals.

  With `config.skip_non_finite`, a non-finite step rolls the run back to its last
  checkpoint and skips that step's batch (at most _MAX_ROLLBACKS times); otherwise it
  stops the run. Returns the state, the step it reached, and whether it stopped early on
  SIGTERM (after saving at that step).
  """
  config, family = run.config, run.family
  k = config.steps_per_call
  pending = PendingMetrics(checkpointer.directory, checkpointer.latest_step)
  evaluate_at = eval_schedule(config, total)
  save_seconds = 60 * config.ckpt_every_minutes
  last_save = time.monotonic()
  if config.skip_non_finite:
    logger.info('skip_non_finite is on: a non-finite step rolls back to the last checkpoint '
                'and skips its batch.')
    if start == 0:  # a checkpoint to roll back to before the first interval's
      run.save(checkpointer, state, 0, skipped)
  rollbacks, step = 0, start
  while step < total:
    try:
      stacked, positions = stacked_batches(run.data.train, step, k, skipped)
      batches = mesh_lib.global_batch(stacked, run.mesh, batch_axis=1)
      state, metrics = train_step(state, batches, run.frozen)
      pending.append(metrics, positions)
      if step == start:
        jax.block_until_ready(metrics)
        progress.first_call_done(step + k)
      step += k
      if _due(step, config.log_every) or step == total:
        means = pending.drain(step)
        means.update(progress.report(step, means['loss']))
        run.writer.write(step, 'train', means)
      elif progress.heartbeat_due():
        progress.line(step, float(np.mean(jax.device_get(metrics['loss']))))
      if step in evaluate_at:
        pending.drain(step)
        run.evaluate(state, step, eval_step, 'test', family.eval_examples)
        if family.train_eval_examples and 'train_eval' in run.data.splits:
          run.evaluate(state, step, eval_step, 'train_eval', family.train_eval_examples)
        progress.restart_clock(step)
      if (_due(step, config.ckpt_every) or preemption.requested
          or (save_seconds and time.monotonic() - last_save >= save_seconds)):
        pending.drain(step)
        run.save(checkpointer, state, step, skipped)
        last_save = time.monotonic()
        if preemption.requested:
          logger.warning('Saved step %d in %s after SIGTERM; run the same command to '
                         'resume.', step, checkpointer.directory)
          return state, step, True
      if _due(step, config.figures_every) and step < total:  # the end writes its own
        run.write_artifacts(state, step)
        progress.restart_clock(step)
    except NonFiniteError as e:
      if not config.skip_non_finite or rollbacks >= _MAX_ROLLBACKS:
        raise
      rollbacks += 1
      pending.clear()
      state, meta = checkpointer.restore_latest(state)
      step = int(meta['data_position'])
      skipped.append(e.bad_position)
      run.writer.drop_after(step)
      logger.warning('Non-finite at data position %d: rolled back to step %d and skipping '
                     'that batch (rollback %d of at most %d).', e.bad_position, step,
                     rollbacks, _MAX_ROLLBACKS)
      progress.restart_clock(step)
  pending.drain(step)
  run.save(checkpointer, state, step, skipped)
  return state, step, False


def _prepare_workdir(workdir: str, family_name: str) -> None:
  """Makes the workdir; refuses a file in its place or another family's run in it."""
  if os.path.exists(workdir) and not os.path.isdir(workdir):
    raise UserError(f'--workdir={workdir} is a file, not a directory; pass a directory '
                    '(it is made if missing).')
  os.makedirs(workdir, exist_ok=True)
  saved = os.path.join(workdir, 'config.json')
  if os.path.exists(saved):
    with open(saved) as f:
      try:
        other = json.load(f).get('family')
      except json.JSONDecodeError:
        other = None
    if other and other != family_name:
      raise UserError(f'{workdir} holds a {other!r} run, not a {family_name!r} one; train in '
                      'another --workdir.')


def _finished(workdir: str, start: int, total: int) -> dict | None:
  """The saved final metrics of a run that already reached `total`; None otherwise."""
  path = os.path.join(workdir, 'final_metrics.json')
  if start < total or not os.path.exists(path):
    return None
  with open(path) as f:
    final = json.load(f)
  return final if final.get('step') == start else None


def train_and_evaluate(family_def: FamilyDef, config: ml_collections.ConfigDict, workdir: str,
                       *, final_eval_again: bool = False, label: str = '',
                       runs_after: int = 0) -> dict[str, float]:
  """Trains `family_def` per `config`, resuming from `workdir`; returns final metrics.

  Args:
    family_def: the family, as the experiment main names it.
    config: validated against the family's schema before anything else happens.
    workdir: checkpoints, metrics and figures; one live run at a time.
    final_eval_again: a run that already finished evaluates again instead of returning
      its saved final metrics.
    label, runs_after: for a run that is one of several, its name in progress lines and
      the number of runs after it, added to its ETA.

  Raises:
    Preempted: after SIGTERM, once the state at the next step boundary is saved.
  """
  check_family(config, family_def)
  _prepare_workdir(workdir, family_def.name)
  with WorkdirLock(workdir, enabled=jax.process_index() == 0), PreemptionGuard() as guard:
    return _train_and_evaluate(family_def, config, workdir, guard, final_eval_again, label,
                               runs_after)


def _train_and_evaluate(family_def, config, workdir, preemption, final_eval_again, label,
                        runs_after):
  mesh = mesh_lib.make_mesh()
  mesh_lib.check_divides(config.batch_size, mesh, 'batch_size')
  mesh_lib.check_divides(config.eval_batch_size, mesh, 'eval_batch_size')
  data = family_def.data(config, jax.process_index(), jax.process_count())
  logger.info('data: %s', data.description)
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
    state, start, skipped = restore_or_init(run, checkpointer, optimizer)
    total = config_lib.total_steps(config, data.train.num_examples)
    finished = None if final_eval_again else _finished(workdir, start, total)
    if finished is not None:
      logger.info('%s already finished at step %d; its final metrics are in '
                   'final_metrics.json (evaluate again with --final_eval_again).', workdir,
                   start)
      return {key: v for key, v in finished.items() if key != 'step'}
    run.writer.drop_after(start)
    update = family.update_fn or gradient_update(family.loss_fn, optimizer, config.ema_decay)
    eval_step = make_eval_step(family.eval_fn, mesh)
    progress = Progress(total, start, config.batch_size, label=label, runs_after=runs_after)
    state, step, preempted = train(run, state, start, skipped, total,
                                   make_train_step(update, mesh), eval_step, checkpointer,
                                   progress, preemption)
    if preempted:
      raise Preempted(f'Stopped on SIGTERM after saving step {step} in {workdir}; run the '
                      'same command again to resume.')
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
