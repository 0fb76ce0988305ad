"""The one training loop: every model family runs through `train_and_evaluate`."""

from __future__ import annotations

import dataclasses
import json
import os

import jax
import ml_collections
import numpy as np
from absl import logging

from genjax import config as config_lib
from genjax import data as data_lib
from genjax import families
from genjax.training import mesh as mesh_lib
from genjax.training.checkpoint import Checkpointer
from genjax.training.family import Family, to_numpy
from genjax.training.optimizers import make_optimizer
from genjax.training.progress import MetricsWriter, Progress
from genjax.training.state import create_train_state, eval_params
from genjax.training.step import make_eval_step, make_train_step
from genjax.training.update import gradient_update


@dataclasses.dataclass(frozen=True)
class DataInfo:
  """What a family may know of the data when it builds its model."""
  image_shape: tuple[int, ...]
  num_classes: int
  num_train: int
  test: data_lib.ImageArrays


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


def train_and_evaluate(config: ml_collections.ConfigDict, workdir: str) -> dict[str, float]:
  """Trains `config.family` per `config`, resuming from `workdir`; returns final metrics."""
  family_module = families.get(config.family)
  config_lib.validate(config, family_module.schema())
  os.makedirs(workdir, exist_ok=True)
  is_lead = jax.process_index() == 0
  if is_lead:
    with open(os.path.join(workdir, 'config.json'), 'w') as f:
      f.write(config.to_json(indent=2))

  load = lambda split: data_lib.load_image_dataset(
      config.data.name, split, tfds_data_dir=config.data.tfds_data_dir,
      tfds_download=config.data.tfds_download, idx_dir=config.data.idx_dir)
  train_arrays, test_arrays = load('train'), load('test')
  logging.info('data: %s train %s, test %s, from %s', config.data.name,
               train_arrays.images.shape, test_arrays.images.shape, train_arrays.source)

  mesh = mesh_lib.make_mesh()
  mesh_lib.check_divides(config.batch_size, mesh, 'batch_size')
  mesh_lib.check_divides(config.eval_batch_size, mesh, 'eval_batch_size')
  stream = data_lib.TrainStream(
      train_arrays, global_batch_size=config.batch_size, seed=config.seed,
      binarize=config.data.binarize, process_index=jax.process_index(),
      process_count=jax.process_count())
  family: Family = family_module.build(config, DataInfo(
      tuple(train_arrays.images.shape[1:]), train_arrays.num_classes,
      stream.num_examples, test_arrays))
  total = config_lib.total_steps(config, stream.num_examples)
  k = config.steps_per_call

  init_rng, state_rng, eval_rng, figure_rng = jax.random.split(
      jax.random.PRNGKey(config.seed), 4)
  optimizer = family.make_optimizer() if family.make_optimizer else make_optimizer(
      config.optimizer)
  replicated = mesh_lib.replicated(mesh)
  example = stream.batch(0)
  state = jax.jit(
      lambda r: create_train_state(family.init_params(r, example), optimizer, state_rng,
                                   ema=config.ema_decay > 0),
      out_shardings=replicated)(init_rng)

  checkpointer = Checkpointer(workdir, keep=config.keep_checkpoints,
                              signature={'family': family.name, **family.signature})
  restored = checkpointer.restore_latest(state)
  start = 0
  if restored is not None:
    state, meta = restored
    start = int(meta['data_position'])
    logging.info('resumed from %s at step %d', checkpointer.directory, start)
  if start % k:
    raise ValueError(f'The checkpoint is at step {start}, not a multiple of '
                     f'steps_per_call={k}; resume with the steps_per_call that wrote it.')

  update = family.update_fn or gradient_update(family.loss_fn, optimizer, config.ema_decay)
  train_step = make_train_step(update, mesh)
  eval_step = make_eval_step(family.eval_fn, mesh)
  writer = MetricsWriter(workdir)
  progress = Progress(total, start, config.batch_size)
  evaluate_at = eval_schedule(config, total)

  def evaluate(step: int, eval_fn_step, split: str, arrays, max_examples: int):
    sums, count = None, 0.0
    for i, local in enumerate(data_lib.eval_batches(
        arrays, global_batch_size=config.eval_batch_size, binarize=config.data.binarize,
        process_index=jax.process_index(), process_count=jax.process_count(),
        max_examples=max_examples)):
      s, c = eval_fn_step(eval_params(state), mesh_lib.global_batch(local, mesh),
                          jax.random.fold_in(eval_rng, i))
      sums = s if sums is None else jax.tree.map(lambda a, b: a + b, sums, s)
      count = count + c
    means = {key: float(v) / float(count) for key, v in jax.device_get(sums).items()}
    writer.write(step, split, means)
    logging.info('step %d  %s: %s', step, split,
                 '  '.join(f'{key} {v:.4f}' for key, v in means.items()))
    return means

  rendered_at = {}  # step -> the scalars its artifacts held

  def render(step: int) -> dict[str, float]:
    if family.artifacts_fn is None or not is_lead:
      return {}
    if step in rendered_at:
      return rendered_at[step]
    local_params = jax.tree.map(np.asarray, jax.device_get(eval_params(state)))
    artifacts = to_numpy(family.artifacts_fn(local_params, jax.random.fold_in(figure_rng, step)))
    scalars = {key: float(v) for key, v in artifacts.items()
               if v.ndim == 0 and np.issubdtype(v.dtype, np.number)}
    if scalars:
      writer.write(step, 'artifacts', scalars)
    rendered_at[step] = scalars
    os.makedirs(os.path.join(workdir, 'artifacts'), exist_ok=True)
    path = os.path.join(workdir, 'artifacts', f'step_{step:08d}.npz')
    np.savez_compressed(path, **artifacts)
    if family.render_figures is not None:
      pngs = family.render_figures(path, os.path.join(workdir, 'figures'))
      logging.info('figures: %s', ', '.join(pngs))
    return scalars

  pending = []  # per-call metrics still on device; fetched only when needed

  def drain() -> dict[str, float]:
    if not pending:
      return {}
    fetched = jax.device_get(pending)
    pending.clear()
    stacked = {key: np.concatenate([np.atleast_1d(m[key]) for m in fetched])
               for key in fetched[0]}
    if not stacked['finite'].all():
      bad = int(np.argmin(stacked['finite']))
      raise FloatingPointError(
          f'The loss became non-finite ({stacked["loss"][bad]}) within the last '
          f'{len(stacked["loss"])} steps before step {step}. The run stopped without saving; '
          f'its checkpoints in {checkpointer.directory} hold the last good state. Lower '
          '--config.optimizer.learning_rate or set --config.optimizer.grad_clip_norm.')
    return {key: float(v.mean()) for key, v in stacked.items() if key != 'finite'}

  step = start
  try:
    while step < total:
      batches = mesh_lib.global_batch(stream.stacked(step, k), mesh, batch_axis=1)
      state, metrics = train_step(state, batches)
      pending.append(metrics)
      step += k
      if _due(step, config.log_every) or step == total:
        means = drain()
        means.update(progress.report(step, means['loss']))
        writer.write(step, 'train', means)
      if step in evaluate_at:
        drain()
        evaluate(step, eval_step, 'test', test_arrays, family.eval_examples)
        if family.train_eval_examples:
          evaluate(step, eval_step, 'train_eval', train_arrays, family.train_eval_examples)
        progress.restart_clock(step)
      if _due(step, config.ckpt_every):
        drain()
        checkpointer.save(state, data_position=step)
      if _due(step, config.figures_every):
        render(step)
        progress.restart_clock(step)
    drain()
    checkpointer.save(state, data_position=step)
    final = {}
    if family.final_eval_fn is not None:
      final = evaluate(step, make_eval_step(family.final_eval_fn, mesh), 'test_final',
                       test_arrays, family.eval_examples)
    scalars = render(step)
    if is_lead:
      with open(os.path.join(workdir, 'final_metrics.json'), 'w') as f:
        json.dump({'step': step, **final, **scalars}, f, indent=2)
    return final
  finally:
    checkpointer.wait()
    checkpointer.close()
