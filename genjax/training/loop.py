"""The one training loop: every model family runs through `train_and_evaluate`.

The loop knows no family by name. A main hands it a `FamilyDef`; the family supplies its
data, model, objective and sampler (see `genjax.training.family`), and the loop runs the
same steps for all: validate, build, restore, train with periodic evaluation, checkpoints
and figures, then evaluate once more at the end.
"""

from __future__ import annotations

import json
import logging
import time

import jax
import ml_collections
import numpy as np
from etils import epath

from genjax import config as config_lib
from genjax.training import host_agreement, utilization
from genjax.training import workdir as workdir_lib
from genjax.training.assemble import Assembled, assemble, check_family, run_keys
from genjax.training.checkpoint import Checkpointer
from genjax.training.family import FamilyDef
from genjax.training.pending import NonFiniteError, PendingMetrics
from genjax.training.preemption import Preempted, PreemptionGuard
from genjax.training.profile_window import ProfileWindow
from genjax.training.progress import COMPUTE_SPLIT, MetricsWriter, Progress
from genjax.training.run import Run, restore_or_init
from genjax.training.state import TrainState
from genjax.training.step import default_unroll, make_eval_step
from genjax.training.workdir import WorkdirLock, WorkdirLostError

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


_MAX_ROLLBACKS = 10


def train(assembled: Assembled, run: Run, state: TrainState, start: int, skipped: list[int],
          total: int, eval_step, checkpointer: Checkpointer, progress: Progress,
          preemption: PreemptionGuard, profile_window: ProfileWindow,
          lock: WorkdirLock) -> tuple[TrainState, int, bool]:
  """Steps `start`..`total`, with the config's log, eval, checkpoint and figure intervals.

  With `config.skip_non_finite`, a non-finite step rolls the run back to its last
  checkpoint and skips that step's batch (at most _MAX_ROLLBACKS times); otherwise it
  stops the run. A family whose update reports a true `converged` metric ends the run
  after that call, as if `total` were reached. Returns the state, the step it reached, and
  whether it stopped early on SIGTERM (after saving at that step).
  """
  config, reporting = run.config, run.family.reporting
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
      batches, positions = assembled.batches(step, skipped)
      with profile_window.train_call(step):
        state, metrics = assembled.train_step(state, batches, run.frozen)
      profile_window.call_done(step + k, (state, metrics))
      pending.append(metrics, positions)
      if step == start:
        jax.block_until_ready(metrics)
        flops = _flops_per_step(assembled, state, batches, run)
        progress.first_call_done(step + k, flops)
        if flops is not None and start == 0:  # once a run: a resume keeps the first row
          run.writer.write(step + k, COMPUTE_SPLIT,
                           {'flops_per_step': flops, 'devices': jax.device_count()})
      step += k
      if 'converged' in metrics and bool(jax.device_get(metrics['converged'])[-1]):
        logger.info('converged at step %d (the family\'s stopping rule); finishing.', step)
        total = step
      if _due(step, config.log_every) or step == total:
        means = pending.drain(step)
        means.update(progress.report(step, means['loss']))
        run.writer.write(step, 'train', means)
      elif progress.heartbeat_due():
        progress.line(step, float(np.mean(jax.device_get(metrics['loss']))))
      if step in evaluate_at or step == total:
        pending.drain(step)
        run.evaluate(state, step, eval_step, 'test', reporting.eval_examples)
        if reporting.train_eval_examples and 'train_eval' in run.data.splits:
          run.evaluate(state, step, eval_step, 'train_eval', reporting.train_eval_examples)
        progress.restart_clock(step)
      # Every host saves, and stops, at the same boundary: one exchange of their views.
      wants = host_agreement.any_host({
          'sigterm': preemption.requested,
          'minutes': save_seconds and time.monotonic() - last_save >= save_seconds,
          'lock lost': lock.lost})
      if wants['lock lost']:
        raise WorkdirLostError(
            f'Another run took over the lock of {run.workdir} at step {step}; this run '
            'stopped without saving, so as not to write over it. Let one run train there, '
            'or give each its own --workdir.')
      if _due(step, config.ckpt_every) or wants['sigterm'] or wants['minutes']:
        pending.drain(step)
        run.save(checkpointer, state, step, skipped)
        if wants['minutes'] and not _due(step, config.ckpt_every):
          logger.info('saved step %d: %.3g minutes since the last save (ckpt_every_minutes)',
                      step, (time.monotonic() - last_save) / 60)
        last_save = time.monotonic()
        if wants['sigterm']:
          logger.warning('Saved step %d in %s after SIGTERM%s; run the same command to '
                         'resume.', step, checkpointer.directory,
                         '' if preemption.requested else ' to another host')
          return state, step, True
      if _due(step, config.figures_every) and step < total:  # the end writes its own
        pending.check(step)  # no figures of a state that has gone non-finite
        run.write_artifacts(state, step)
        progress.restart_clock(step)
    except NonFiniteError as e:
      if not config.skip_non_finite or rollbacks >= _MAX_ROLLBACKS:
        raise
      rollbacks += 1
      pending.clear()
      state, step = _roll_back(run, checkpointer, state, e.bad_position, skipped)
      logger.warning('(rollback %d of at most %d)', rollbacks, _MAX_ROLLBACKS)
      progress.restart_clock(step)
  pending.drain(step)
  run.save(checkpointer, state, step, skipped)
  return state, step, False


def _flops_per_step(assembled: Assembled, state, batches, run: Run) -> float | None:
  """One step's FLOPs on one device. XLA counts a loop's body once: the scan over a call's
  steps (a loop unless unrolled whole, as on accelerators) and the one over micro-batches."""
  flops = assembled.train_step.flops_per_call(state, batches, run.frozen)
  if flops is None:
    return None
  k, config = assembled.config.steps_per_call, assembled.config
  counted = utilization.steps_counted(k, config.unroll_steps or default_unroll(k))
  return flops / counted * config.grad_accum_steps


def _roll_back(run: Run, checkpointer: Checkpointer, state: TrainState, bad_position: int,
               skipped: list[int]) -> tuple[TrainState, int]:
  """The last checkpoint's state and step, with `bad_position` added to the skipped
  batches and the metrics rows past that step dropped."""
  state, meta = checkpointer.restore_latest(state)
  step = int(meta['data_position'])
  skipped.append(bad_position)
  run.writer.drop_after(step)
  logger.warning('Non-finite at data position %d: rolled back to step %d and skipping that '
                 'batch.', bad_position, step)
  return state, step


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
  host_agreement.check_same_run(config.to_json(), workdir)
  workdir_lib.prepare(workdir, family_def.name)
  with (WorkdirLock(workdir, enabled=jax.process_index() == 0) as lock,
        PreemptionGuard() as guard):
    return _train_and_evaluate(family_def, config, workdir, guard, lock, final_eval_again,
                               label, runs_after)


def _train_and_evaluate(family_def, config, workdir, preemption, lock, final_eval_again,
                        label, runs_after):
  assembled = assemble(family_def, config)
  family, data, mesh = assembled.family, assembled.data, assembled.mesh
  logger.info('data: %s', data.description)
  keys = run_keys(config.seed)
  run = Run(config=config, workdir=workdir, family=family, data=data, mesh=mesh,
            frozen=assembled.frozen, writer=MetricsWriter(workdir), eval_rng=keys['eval'],
            figure_rng=keys['figures'])
  checkpointer = Checkpointer(workdir, keep=config.keep_checkpoints,
                              signature={'family': family.name, **family.signature},
                              upstream=family.training.upstream)
  try:
    state, start, skipped = restore_or_init(assembled, checkpointer)
    total = config_lib.total_steps(config, data.train.num_examples)
    finished = None if final_eval_again else workdir_lib.finished_metrics(workdir, start, total)
    if finished is not None:
      logger.info('%s already finished at step %d; its final metrics are in '
                   'final_metrics.json (evaluate again with --final_eval_again).', workdir,
                   start)
      return {key: v for key, v in finished.items() if key != 'step'}
    # A run at its end evaluates and writes artifacts again (after a kill in its final
    # evaluation, or --final_eval_again): those rows at its step are written afresh.
    run.writer.drop_after(start, splits_at_step=('test_final', 'artifacts') if start >= total
                          else ())
    reporting = family.reporting
    progress = Progress(total, start, config.batch_size, label=label, runs_after=runs_after)
    with ProfileWindow(config.profile_steps, config.steps_per_call, workdir) as profile_window:
      state, step, preempted = train(assembled, run, state, start, skipped, total,
                                     make_eval_step(reporting.eval_fn, mesh), checkpointer,
                                     progress, preemption, profile_window, lock)
    if preempted:
      raise Preempted(f'Stopped on SIGTERM after saving step {step} in {workdir}; run the '
                      'same command again to resume.')
    final = {}
    if reporting.final_eval_fn is not None:
      final = run.evaluate(state, step, make_eval_step(reporting.final_eval_fn, mesh), 'test',
                           reporting.eval_examples, name='test_final')
    scalars = run.write_artifacts(state, step)
    if run.is_lead:
      converged = {'converged': True} if step < total else {}
      (epath.Path(workdir) / 'final_metrics.json').write_text(
          json.dumps({'step': step, **final, **scalars, **converged}, indent=2))
    return final
  finally:
    checkpointer.wait()
    checkpointer.close()
    run.writer.close()
