"""Every shape of family in genjax's scope trains through the one `train_and_evaluate` and
resumes exactly: a GAN (two optimisers), EM (streaming statistics in model state), PCA in
one step, skip-gram on a text stream, a second stage over a frozen first stage, and
BatchNorm. The toy families live in tests/training/toys and are registered nowhere."""

import dataclasses
import json
import os

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.linalg

from genjax import config as config_lib
from genjax import data as data_lib
from genjax.training import mesh as mesh_lib
from genjax.training.checkpoint import CheckpointMismatchError
from genjax.training.assemble import family_optimizer
from genjax.training.family import StepContext
from genjax.training.loop import train_and_evaluate
from genjax.training.restore import load_run
from genjax.training.state import create_train_state
from genjax.training.step import make_train_step
from genjax.training.update import gradient_update
from tests.training.checks import assert_bitwise_equal, raw_state
from tests.training.toys import (batchnorm, code_prior, common, gan, gmm, pca, skipgram,
                                 two_stage)


def _train(family_def, workdir, **fields):
  return train_and_evaluate(family_def, common.config(family_def, **fields), str(workdir))


def _resumes_bitwise(family_def, tmp_path, *, stop, **fields):
  """Trains straight through, and stopped at `stop` then resumed; the states are equal."""
  straight, resumed = tmp_path / 'straight', tmp_path / 'resumed'
  _train(family_def, straight, **fields)
  _train(family_def, resumed, **{**fields, 'total_steps': stop})
  _train(family_def, resumed, **fields)
  assert_bitwise_equal(raw_state(straight), raw_state(resumed))
  return straight


def _rows(workdir, split):
  with open(os.path.join(workdir, 'metrics.jsonl')) as f:
    return [r for r in map(json.loads, f) if r['split'] == split]


def _fresh_state(family_def, **fields):
  config = common.config(family_def, **fields)
  data = family_def.data(config, 0, 1)
  family = family_def.build(config, data.info)
  optimizer = family_optimizer(family, config)
  state = create_train_state(family.training.init_params(jax.random.PRNGKey(0),
                                                         data.train.batch(0)),
                             optimizer, jax.random.PRNGKey(1), ema=False)
  return family, data, state, optimizer


def test_a_gan_discriminator_step_leaves_the_generator_and_its_adam_state_bitwise():
  family, data, state, _ = _fresh_state(gan.FAMILY)
  toy = gan.ToyGAN(common.config(gan.FAMILY))
  batch = jax.tree.map(jnp.asarray, data.train.batch(0))
  update = jax.jit(family.training.update_fn)
  for i in range(3):  # both optimisers hold non-zero moments
    state, _ = update(state, batch, jax.random.PRNGKey(i), None)
  after, _ = jax.jit(toy.discriminator_step)(state, batch, jax.random.PRNGKey(9))
  assert_bitwise_equal(after.params['generator'], state.params['generator'])
  assert_bitwise_equal(after.opt_state['generator'], state.opt_state['generator'])
  moved = jax.tree.map(lambda a, b: np.any(a != b), after.params['discriminator'],
                       state.params['discriminator'])
  assert all(jax.tree.leaves(moved))
  assert jax.tree.leaves(after.opt_state['discriminator'])[0] == 4  # D's Adam count only


@pytest.mark.slow
def test_a_gan_trains_and_resumes_bitwise_and_its_generator_is_readable(tmp_path):
  workdir = _resumes_bitwise(gan.FAMILY, tmp_path, stop=4)
  assert {'d_loss', 'g_loss'} <= set(_rows(workdir, 'train')[-1])
  run = load_run(str(workdir), family='toy_gan')
  toy = gan.ToyGAN(run.config)
  samples = toy.fake(run.params['generator'], jax.random.PRNGKey(0), 16)
  assert samples.shape == (16, 2) and np.all(np.isfinite(samples))
  assert np.load(workdir / 'artifacts' / 'step_00000008.npz')['samples'].shape == (64, 2)


@pytest.mark.slow
def test_em_log_likelihood_never_decreases_and_streaming_statistics_resume(tmp_path):
  fields = dict(total_steps=40, eval_every=4, log_every=2, ckpt_every=2)  # 4 steps an epoch
  workdir = _resumes_bitwise(gmm.FAMILY, tmp_path, stop=6, **fields)  # stopped mid-epoch
  log_likelihood = [r['log_likelihood'] for r in _rows(workdir, 'test')]
  assert len(log_likelihood) == 10
  assert np.all(np.diff(log_likelihood) >= -1e-5), log_likelihood
  assert log_likelihood[-1] > log_likelihood[0] + 0.1
  # A mid-epoch checkpoint holds the statistics gathered so far, which are not zero.
  config = common.config(gmm.FAMILY, **fields)
  stopped = tmp_path / 'stopped'
  train_and_evaluate(gmm.FAMILY, common.config(gmm.FAMILY, **{**fields, 'total_steps': 6}),
                     str(stopped))
  counts = load_run(str(stopped)).model_state['n']
  assert config.batch_size * 2 == pytest.approx(float(np.sum(counts)), rel=1e-5)


def test_pca_in_one_step_is_numpys_svd_subspace(tmp_path):
  fields = dict(batch_size=200, total_steps=1, steps_per_call=1, log_every=1, eval_every=1,
                ckpt_every=1)
  _train(pca.FAMILY, tmp_path, **fields)
  x = pca.anisotropic_points(200, 4).astype(np.float64)
  _, _, vt = np.linalg.svd(x - x.mean(0), full_matrices=False)
  components = load_run(str(tmp_path)).params['components']
  assert np.max(scipy.linalg.subspace_angles(components, vt[:2].T)) < 1e-3
  first = raw_state(tmp_path)
  _train(pca.FAMILY, tmp_path, **fields)  # finished: resuming changes nothing
  assert_bitwise_equal(first, raw_state(tmp_path))


def test_a_family_that_reports_convergence_ends_the_run_there(tmp_path):
  def build(config, info):
    family = pca.build(config, info)

    def update_fn(state, batch, rng, frozen):
      state, metrics = family.training.update_fn(state, batch, rng, frozen)
      return state, {**metrics, 'converged': state.step >= 2}  # after its third step

    return dataclasses.replace(
        family, training=dataclasses.replace(family.training, update_fn=update_fn))

  converging = dataclasses.replace(pca.FAMILY, build=build)
  fields = dict(batch_size=200, total_steps=10, steps_per_call=1, log_every=5,
                eval_every=5, ckpt_every=5)
  _train(converging, tmp_path, **fields)
  final = json.load(open(tmp_path / 'final_metrics.json'))
  assert final['step'] == 3 and final['converged'] and load_run(str(tmp_path)).step == 3
  assert [r['step'] for r in _rows(tmp_path, 'test')] == [3]
  first = raw_state(tmp_path)
  _train(converging, tmp_path, **fields)  # converged: running it again changes nothing
  assert_bitwise_equal(first, raw_state(tmp_path))


@pytest.mark.slow
def test_skipgram_on_a_text_stream_learns_and_resumes_bitwise(tmp_path):
  fields = dict(total_steps=40, steps_per_call=4, log_every=4, eval_every=8, ckpt_every=8)
  workdir = _resumes_bitwise(skipgram.FAMILY, tmp_path, stop=16, **fields)
  nll = [r['context_nll'] for r in _rows(workdir, 'test')]
  vocabulary_size = len(set(sum(skipgram.TOPICS, ()))) + 1
  # Uniform guessing scores log V; a context predicts its topic, so the model beats it.
  assert nll[-1] < nll[0] and nll[-1] < np.log(vocabulary_size) - 0.3, nll


def test_a_prior_over_stored_code_grids_reaches_their_entropy_and_resumes(tmp_path):
  rng = np.random.default_rng(0)
  codes = np.where(rng.random((128, 3, 3)) < 0.8, 0, rng.integers(1, 4, (128, 3, 3)))
  path = str(tmp_path / 'codes.npz')
  data_lib.save_code_grids(path, codes, None, num_codes=4, source={'workdir': 'stage1'})
  fields = dict(total_steps=120, steps_per_call=4, log_every=40, eval_every=40, ckpt_every=40,
                data=dict(codes_path=path))
  workdir = _resumes_bitwise(code_prior.FAMILY, tmp_path, stop=40, **fields)
  frequencies = np.stack([np.mean(codes == k, 0) for k in range(4)])
  entropy = -np.sum(np.where(frequencies > 0, frequencies * np.log(frequencies), 0.0))
  assert _rows(workdir, 'test')[-1]['nll'] == pytest.approx(entropy, rel=0.02)


@pytest.mark.slow
def test_a_second_stage_reads_the_first_as_frozen_params(tmp_path):
  stage1, stage2 = tmp_path / 'stage1', tmp_path / 'stage2'
  _train(pca.FAMILY, stage1, batch_size=200, total_steps=1, steps_per_call=1, log_every=1,
         eval_every=1, ckpt_every=1)
  upstream = load_run(str(stage1))
  _resumes_bitwise(two_stage.FAMILY, stage2, stop=4, model=dict(upstream=str(stage1)))
  run = load_run(str(stage2 / 'straight'))
  assert run.upstream == json.loads(json.dumps(upstream.record()))
  assert set(run.params) == {'w', 'b'}  # the first stage is no parameter of the second
  assert _rows(stage2 / 'straight', 'test')[-1]['squared_error'] < _rows(
      stage2 / 'straight', 'test')[0]['squared_error']

  # Another upstream model (fitted to other data) behind the same workdir is refused.
  other = tmp_path / 'other'
  _train(pca.FAMILY, other, batch_size=100, total_steps=1, steps_per_call=1, log_every=1,
         eval_every=1, ckpt_every=1, data=dict(num_train=100))
  with pytest.raises(CheckpointMismatchError, match='upstream'):
    _train(two_stage.FAMILY, stage2 / 'straight', model=dict(upstream=str(other)),
           total_steps=12)


def test_frozen_params_are_an_argument_of_the_compiled_step(tmp_path):
  stage1 = tmp_path / 'stage1'
  _train(pca.FAMILY, stage1, batch_size=200, total_steps=1, steps_per_call=1, log_every=1,
         eval_every=1, ckpt_every=1)
  family, data, state, optimizer = _fresh_state(two_stage.FAMILY,
                                                model=dict(upstream=str(stage1)))
  mesh = mesh_lib.make_mesh()
  chex.clear_trace_counter()
  loss_fn = chex.assert_max_traces(two_stage.loss_fn, n=1)
  step = make_train_step(gradient_update(loss_fn, optimizer), mesh)
  batches = mesh_lib.global_batch(data.train.stacked(0, 2), mesh, batch_axis=1)
  frozen = jax.device_put(family.training.frozen, mesh_lib.replicated(mesh))
  other = jax.tree.map(lambda a: a * 2.0, frozen)
  before = jax.tree.map(np.array, frozen)
  state = jax.device_put(state, mesh_lib.replicated(mesh))
  state_a, metrics_a = step(state, batches, frozen)
  state_b, metrics_b = step(jax.tree.map(jnp.copy, state_a), batches, other)
  state_c, metrics_c = step(jax.tree.map(jnp.copy, state_a), batches, frozen)
  assert not np.allclose(metrics_b['loss'], metrics_c['loss'])  # they are not constants
  assert_bitwise_equal(jax.tree.map(np.asarray, frozen), before)  # never updated
  # The gradient reaches the frozen params' loss, but only params are stepped.
  batch = jax.tree.map(lambda a: a[0], batches)
  grads = jax.grad(lambda frozen: two_stage.loss_fn(state_c.params, batch, None,
                                                    StepContext(frozen=frozen)),
                   has_aux=True)(frozen)[0]
  assert np.any(np.asarray(grads['components']) != 0)
  assert set(state_c.params) == {'w', 'b'}


@pytest.mark.slow
def test_batchnorm_statistics_update_are_saved_and_resume_bitwise(tmp_path):
  workdir = _resumes_bitwise(batchnorm.FAMILY, tmp_path, stop=4)
  stats = load_run(str(workdir)).model_state['batch_stats']
  mean = jax.tree.leaves(stats)[0]  # the running mean, initialised at 0
  assert np.all(np.isfinite(mean)) and np.any(mean != 0)
  assert_bitwise_equal(stats, raw_state(workdir)['model_state']['batch_stats'])


def test_a_config_of_another_family_is_refused(tmp_path):
  config = common.config(pca.FAMILY)
  with pytest.raises(config_lib.ConfigError, match="'toy_pca' config.*'toy_gmm' family"):
    train_and_evaluate(gmm.FAMILY, config, str(tmp_path))
  assert not os.listdir(tmp_path)
