"""Reflow (Liu et al., 2023, Sec. 2.2): a flow trained on the couplings of a trained one.

A finished flow-matching run, the teacher, integrates its ODE from noise X0 to its end point
X1; a new flow trained by the same straight-path objective on the pairs (X0, X1) instead of
independent noise and data is the 2-rectified flow. Its paths cross less than the
teacher's, so a few Euler steps, even one, land closer to where the ODE goes.

`load_teacher` reads the teacher with `genjax.training.restore.load_run` and refuses, in
one line naming the remedy, a missing run, a run of another family, an unfinished one and a
class-conditional one. `reflow_pairs` draws the pairs once, `num` of them in batches with
progress, as a pure function of (teacher checkpoint, solver, steps, seed), and stores them
beside the teacher (`reflow_pairs/<key>.npz`, written atomically), so a resumed or second
reflow run over the same checkpoint reads the same pairs. `reflow_data` is the reflow
run's data: a stream of the pairs, and the teacher's own test and train splits for
evaluation, so the reflow run's test loss and likelihood are of the real images.

The pairs' end points are images as the teacher's sampler gives them, clipped to [0, 1],
where Liu et al. keep the raw end point: the reflowed flow learns the paths to the images
the teacher's samples are.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import time
from typing import Callable

import jax
import ml_collections
import numpy as np

from genjax.data import npz_file
from genjax.data.arrays import ArrayStream
from genjax.data.family_data import Data
from genjax.data.image_data import image_data
from genjax.errors import UserError
from genjax.training import restore

logger = logging.getLogger(__name__)

TEACHER_COMMAND = ('python -m experiments.flow_matching --config=configs/flow_matching.py:cpu '
                   '--workdir=runs/flow_matching')
# Pairs drawn a call: one compile of the teacher's solver for the full batches.
PAIR_BATCH = 250

# (rng, noise [n, H, W, C]) -> the teacher's end points [n, H, W, C] in [0, 1]
Endpoints = Callable[[jax.Array, np.ndarray], np.ndarray]


class UnfinishedTeacherError(UserError):
  """The teacher run has checkpoints but has not reached its last step."""


def load_teacher(workdir: str) -> restore.SavedRun:
  """The finished, unconditional flow-matching run in `workdir`; UserError in one line
  otherwise."""
  run = restore.load_run(workdir, family='flow_matching', train_command=TEACHER_COMMAND)
  if not run.finished:
    raise UnfinishedTeacherError(
        f'The teacher run in {run.workdir} is unfinished (latest checkpoint at step '
        f'{run.step}); finish it by running its training command again with '
        f'--workdir={workdir}, or point --config.data.reflow_teacher elsewhere.')
  if run.signature['model'].get('conditional'):
    raise UserError(f'The teacher in {run.workdir} is class-conditional; reflow draws its '
                    'pairs from p(x): train the teacher without model.conditional.')
  return run


def teacher_weights(workdir: str):
  """The teacher's EMA (or trained) params, read from its checkpoint even while a caller is
  being traced: a family's init_params runs under jit, where Orbax cannot build arrays."""
  with jax.ensure_compile_time_eval():
    return load_teacher(workdir).eval_params  # NumPy arrays on the host


def check_same_network(model: ml_collections.ConfigDict, teacher: restore.SavedRun) -> None:
  """Refuses a reflow network other than the teacher's: reflow starts from its weights
  (Liu et al. initialise the 2-rectified flow with the 1-rectified one)."""
  ignored = ('conv', 'remat')  # formulations of the same function
  ours = {k: v for k, v in model.to_dict().items() if k not in ignored}
  theirs = {k: v for k, v in teacher.signature['model'].items() if k not in ignored}
  differ = sorted(k for k in ours if _plain(ours[k]) != _plain(theirs.get(k)))
  if differ:
    shown = ', '.join(f'model.{k}={ours[k]} (teacher: {theirs.get(k)})' for k in differ)
    raise UserError(f'Reflow starts from the teacher\'s weights, so its network must be the '
                    f"teacher's: {shown}; use the teacher's variant and model settings.")


def _plain(value):
  return list(value) if isinstance(value, (tuple, list)) else value


def pairs_path(teacher: restore.SavedRun, num: int, solver: str, steps: int,
               seed: int) -> str:
  """Where the pairs of the teacher's checkpoint are stored, beside the run."""
  how = solver if solver == 'adaptive' else f'{solver}{steps}'
  name = f'step_{teacher.step:08d}_{num}_{how}_seed{seed}.npz'
  return os.path.join(teacher.workdir, 'reflow_pairs', name)


def draw_pairs(endpoints: Endpoints, image_shape, num: int, seed: int,
               batch: int = PAIR_BATCH, log=logger.info) -> dict[str, np.ndarray]:
  """{'noise': X0 [num, H, W, C] ~ N(0, I), 'image': the teacher's X1 in [0, 1]}, batch by
  batch, each batch's noise and solve from its own key of `seed`."""
  key = jax.random.fold_in(jax.random.PRNGKey(seed), 0x2EF1)
  noise, images = [], []
  start = time.perf_counter()
  for i, first in enumerate(range(0, num, batch)):
    n = min(batch, num - first)
    noise_key, solve_key = jax.random.split(jax.random.fold_in(key, i))
    x0 = np.asarray(jax.random.normal(noise_key, (n,) + tuple(image_shape)), np.float32)
    noise.append(x0)
    images.append(np.asarray(endpoints(solve_key, x0), np.float32))
    done, elapsed = first + n, time.perf_counter() - start
    log(f'reflow pairs: {done:,}/{num:,} after {elapsed:.0f} s'
        + (f', about {elapsed * (num - done) / done:.0f} s left' if done < num else ''))
  return {'noise': np.concatenate(noise), 'image': np.concatenate(images)}


def reflow_pairs(teacher: restore.SavedRun, endpoints: Endpoints, *, num: int, solver: str,
                 steps: int, seed: int, write: bool = True) -> dict[str, np.ndarray]:
  """The stored pairs of the teacher's checkpoint, drawn and stored first when missing
  (stored by the first host only, `write`)."""
  path = pairs_path(teacher, num, solver, steps, seed)
  if os.path.exists(path):
    with np.load(path) as stored:
      return {k: stored[k] for k in ('noise', 'image')}
  logger.info('Drawing %d reflow pairs from %s (step %d) by its %s solver; they are stored in '
              '%s for later runs.', num, teacher.workdir, teacher.step, solver, path)
  pairs = draw_pairs(endpoints, teacher.signature['image_shape'], num, seed)
  if write:
    npz_file.write_atomically(path, pairs)
  return pairs


def reflow_data(config: ml_collections.ConfigDict, teacher: restore.SavedRun,
                pairs: dict[str, np.ndarray], process_index: int = 0,
                process_count: int = 1) -> Data:
  """The pairs as the train stream; the teacher's data, read as its config reads it, for
  the evaluation splits and what the family knows of the data."""
  images = ml_collections.ConfigDict({'data': teacher.config.data.to_dict(),
                                      'batch_size': config.batch_size, 'seed': config.seed})
  data = image_data(images, process_index, process_count)
  stream = ArrayStream(pairs, global_batch_size=config.batch_size, seed=config.seed,
                       process_index=process_index, process_count=process_count)
  info = dataclasses.replace(data.info, num_train=stream.num_examples)
  return dataclasses.replace(
      data, info=info, train=stream,
      description=f'{len(pairs["noise"]):,} reflow pairs of the flow in {teacher.workdir} '
                  f'(step {teacher.step}); evaluated on {data.description}')
