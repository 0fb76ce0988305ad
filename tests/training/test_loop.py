"""The training loop's promises: resume exactly, stop on NaN keeping the last good state,
refuse another model's checkpoint, compile the step once."""

import json
import os

import chex
import jax
import numpy as np
import orbax.checkpoint as ocp
import pytest

from genjax import data as data_lib
from genjax.families import vae as vae_family
from genjax.training import mesh as mesh_lib
from genjax.training.checkpoint import CheckpointMismatchError
from genjax.data.family_data import DataInfo
from genjax.training.loop import train_and_evaluate
from genjax.training.optimizers import make_optimizer
from genjax.training.state import create_train_state
from genjax.training.step import make_train_step
from genjax.training.update import gradient_update


def _params_at(workdir, step):
  path = os.path.join(workdir, 'checkpoints', str(step), 'state')
  return ocp.StandardCheckpointer().restore(path)['params']


def test_resume_continues_exactly(tmp_path, smoke_config):
  straight, resumed = str(tmp_path / 'straight'), str(tmp_path / 'resumed')
  train_and_evaluate(vae_family.FAMILY, smoke_config, straight)
  smoke_config.total_steps = 4
  train_and_evaluate(vae_family.FAMILY, smoke_config, resumed)  # "stopped" after 4 of 8 steps
  smoke_config.total_steps = 8
  train_and_evaluate(vae_family.FAMILY, smoke_config, resumed)
  chex.assert_trees_all_close(_params_at(straight, 8), _params_at(resumed, 8), rtol=1e-6)


def test_non_finite_loss_stops_and_keeps_the_last_good_checkpoint(tmp_path, smoke_config):
  workdir = str(tmp_path)
  train_and_evaluate(vae_family.FAMILY, smoke_config, workdir)  # a good checkpoint at step 8
  good = _params_at(workdir, 8)
  smoke_config.total_steps = 16
  smoke_config.optimizer.learning_rate = 1e30
  with pytest.raises(FloatingPointError, match='non-finite.*learning_rate'):
    train_and_evaluate(vae_family.FAMILY, smoke_config, workdir)
  latest = max(int(s) for s in os.listdir(os.path.join(workdir, 'checkpoints')) if s.isdigit())
  params = _params_at(workdir, latest)
  assert all(np.all(np.isfinite(p)) for p in jax.tree.leaves(params))
  if latest == 8:
    chex.assert_trees_all_close(params, good)


def test_a_checkpoint_from_another_model_is_refused(tmp_path, smoke_config):
  train_and_evaluate(vae_family.FAMILY, smoke_config, str(tmp_path))
  smoke_config.model.latent_dim = 3
  with pytest.raises(CheckpointMismatchError, match='(?s)different model.*fresh --workdir'):
    train_and_evaluate(vae_family.FAMILY, smoke_config, str(tmp_path))


def test_unknown_dataset_fails_before_training(tmp_path, smoke_config):
  smoke_config.data.name = 'imagenet'
  with pytest.raises(ValueError, match="Unknown dataset 'imagenet'"):
    train_and_evaluate(vae_family.FAMILY, smoke_config, str(tmp_path))


def test_the_train_step_compiles_once(smoke_config):
  arrays = data_lib.load_image_dataset('digits', 'train')
  test = data_lib.load_image_dataset('digits', 'test')
  family = vae_family.build(smoke_config, DataInfo(num_train=len(arrays.images), num_classes=10,
                                                      example_shape=(8, 8, 1), test_images=test))
  stream = data_lib.TrainStream(arrays, global_batch_size=32, seed=0, binarize='dynamic')
  optimizer = make_optimizer(smoke_config.optimizer)
  chex.clear_trace_counter()
  update = chex.assert_max_traces(gradient_update(family.training.loss_fn, optimizer), n=1)
  mesh = mesh_lib.make_mesh()
  state = create_train_state(family.training.init_params(jax.random.PRNGKey(0),
                                                         stream.batch(0)),
                             optimizer, jax.random.PRNGKey(1), ema=False)
  # Placed as the loop places it; an uncommitted first state would differ in sharding.
  state = jax.device_put(state, mesh_lib.replicated(mesh))
  step = make_train_step(update, mesh)
  for first in (0, 2, 4):
    state, metrics = step(state, mesh_lib.global_batch(stream.stacked(first, 2), mesh, 1))
  assert int(state.step) == 6 and metrics['loss'].shape == (2,)


def test_evaluating_a_finished_run_again_replaces_its_final_rows(tmp_path):
  """--final_eval_again (and a rerun killed in its final evaluation) writes the final
  evaluation's and the artifacts' rows afresh, not a second copy beside the first (on the
  mixture family, which has both)."""
  from genjax.families import gmm  # pylint: disable=g-import-not-at-top
  from tests.families.test_gmm import _config  # pylint: disable=g-import-not-at-top
  config = _config(total_steps=8, objective=dict(tol=0.0))
  first = train_and_evaluate(gmm.FAMILY, config, str(tmp_path))
  again = train_and_evaluate(gmm.FAMILY, config, str(tmp_path), final_eval_again=True)
  assert again == first
  rows = [(r['step'], r['split']) for r in map(json.loads, open(tmp_path / 'metrics.jsonl'))]
  assert rows.count((8, 'test_final')) == rows.count((8, 'artifacts')) == 1
  assert rows.count((8, 'train')) == 1  # the train rows stay as they were
