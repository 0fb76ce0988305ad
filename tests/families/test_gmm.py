"""The Gaussian mixture family through the one loop: full-batch EM steps resume bitwise, a
run ends when EM converges, and degenerate data ends it with an error naming reg_covar,
with nothing non-finite computed into the state or saved."""

import dataclasses
import json
import os

import jax
import numpy as np
import pytest

from genjax import config as config_lib
from genjax.data.features import Features, whole_set_data
from genjax.families import gmm
from genjax.training.family import StepContext
from genjax.training.loop import train_and_evaluate
from genjax.training.restore import load_run
from genjax.training.state import create_train_state
from tests.training.toys import common

DIGITS = dict(batch_size=1500, eval_batch_size=96, data=dict(name='digits', pca_dims=10),
              model=dict(components=5), eval=dict(num_samples=16))


def _config(**fields):
  """configs/gmm.py:smoke's fields (the 8x8 digits' top 10 axes, 5 components), changed."""
  return common.config(gmm.FAMILY, **{**DIGITS, **fields})


def _rows(workdir, split):
  with open(os.path.join(workdir, 'metrics.jsonl')) as f:
    return [r for r in map(json.loads, f) if r['split'] == split]


def _on_points(x):
  """The family on given points, the training set doubling as the test set."""
  features = Features(train=x, test=x, test_labels=np.zeros(len(x), np.int32),
                      image_shape=x.shape[1:])
  return dataclasses.replace(gmm.FAMILY, data=lambda config, index, count: whole_set_data(
      features, config, index, count))


@pytest.mark.slow
def test_em_steps_resume_bitwise(tmp_path):
  fields = dict(total_steps=8, objective=dict(tol=0.0))  # tol 0: every step is EM's
  straight, resumed = tmp_path / 'straight', tmp_path / 'resumed'
  train_and_evaluate(gmm.FAMILY, _config(**fields), str(straight))
  train_and_evaluate(gmm.FAMILY, _config(**{**fields, 'total_steps': 4}), str(resumed))
  train_and_evaluate(gmm.FAMILY, _config(**fields), str(resumed))
  a, b = load_run(str(straight)), load_run(str(resumed))
  jax.tree.map(np.testing.assert_array_equal, (a.params, a.model_state),
               (b.params, b.model_state))
  assert a.model_state['iterations'] == 8 and not a.model_state['converged']
  losses = [r['loss'] for r in _rows(straight, 'train')]
  assert losses[-1] < losses[0], losses


def test_a_run_ends_when_em_converges_and_stays_finished(tmp_path):
  final = train_and_evaluate(gmm.FAMILY, _config(total_steps=400), str(tmp_path))
  saved = json.load(open(tmp_path / 'final_metrics.json'))
  assert saved['converged'] and saved['step'] < 400
  # Two steps a call: a step after the converged one leaves the state as it was.
  assert saved['iterations'] in (saved['step'] - 1, saved['step'])
  assert {'bic', 'aic', 'train_log_likelihood'} <= set(saved)
  assert final['log_likelihood'] == saved['log_likelihood'] == pytest.approx(
      _rows(tmp_path, 'test')[-1]['log_likelihood'], rel=1e-6)
  run = load_run(str(tmp_path))
  assert run.model_state['converged'] and run.step == saved['step']
  assert train_and_evaluate(gmm.FAMILY, _config(total_steps=400), str(tmp_path)) == {
      key: v for key, v in saved.items() if key != 'step'}  # finished: left alone
  assert load_run(str(tmp_path)).step == run.step


def test_batch_size_must_be_the_training_set():
  with pytest.raises(config_lib.ConfigError, match='set --config.batch_size=1500'):
    gmm.FAMILY.data(_config(batch_size=128), 0, 1)


@pytest.mark.slow
def test_degenerate_data_ends_the_run_with_an_error_naming_reg_covar(tmp_path):
  # scikit-learn's test_regularisation: two clusters of identical points.
  family = _on_points(np.vstack([np.ones((5, 5)), np.zeros((5, 5))]).astype(np.float32))
  fields = dict(batch_size=10, eval_batch_size=10, model=dict(components=3),
                objective=dict(reg_covar=0.0))
  with pytest.raises(gmm.IllDefinedCovarianceError, match='--config.objective.reg_covar'):
    train_and_evaluate(family, _config(**fields), str(tmp_path / 'unregularised'))
  run = load_run(str(tmp_path / 'unregularised'))
  assert run.model_state['ill_defined']
  assert all(np.isfinite(leaf).all() for leaf in jax.tree.leaves(run.params))
  assert all(np.isfinite(v) for r in _rows(tmp_path / 'unregularised', 'test')
             for v in r.values() if isinstance(v, float))
  # scikit-learn's default reg_covar fits the same data.
  train_and_evaluate(family, _config(**{**fields, 'objective': dict(reg_covar=1e-6)}),
                     str(tmp_path / 'regularised'))


def test_an_m_step_that_fails_keeps_the_last_params_and_ends_the_run():
  rng = np.random.default_rng(0)
  x = np.vstack([np.full((6, 2), 5.0), rng.standard_normal((20, 2))]).astype(np.float32)
  config = _config(batch_size=26, model=dict(components=2), objective=dict(reg_covar=0.0))
  family = gmm.build(config, _on_points(x).data(config, 0, 1).info)
  # Component 0 sits on the six identical points, so its next covariance is exactly 0.
  params = {'weights': np.array([0.3, 0.7], np.float32),
            'means': np.array([[5.0, 5.0], [0.0, 0.0]], np.float32),
            'precisions_cholesky': np.stack([1e3 * np.eye(2), np.eye(2)]).astype(np.float32)}
  state = create_train_state(params, None, jax.random.PRNGKey(0), ema=False,
                             model_state=family.training.init_model_state(None, None, params))
  after, metrics = jax.jit(family.training.update_fn)(state, {'x': x}, None, None)
  assert metrics['converged'] and metrics['ill_defined'] == 1
  jax.tree.map(np.testing.assert_array_equal, jax.device_get(after.params), params)
  with pytest.raises(gmm.IllDefinedCovarianceError, match='after 0 iterations'):
    family.reporting.artifacts_fn(params, jax.random.PRNGKey(0),
                                  StepContext(model_state=jax.device_get(after.model_state)))


def test_one_classs_features_are_its_rows_on_the_whole_training_sets_axes():
  from configs import gmm as gmm_config  # pylint: disable=g-import-not-at-top
  from genjax.data.features import feature_data  # pylint: disable=g-import-not-at-top
  from genjax.data.image_data import load_splits  # pylint: disable=g-import-not-at-top
  config = gmm_config.get_config('smoke')
  every = feature_data(config).info.features
  config.data.class_label = 3
  train, test = load_splits(config.data)
  config.batch_size = int(np.sum(train.labels == 3))
  one = feature_data(config).info.features
  np.testing.assert_array_equal(one.train, every.train[train.labels == 3])
  np.testing.assert_array_equal(one.test, every.test[test.labels == 3])
  assert set(one.test_labels) == {3}
  config.data.class_label = 10
  with pytest.raises(config_lib.ConfigError, match='classes 0 to 9'):
    feature_data(config)


def test_dequantised_pixels_stay_in_their_8_bit_bins_and_need_the_pixels():
  """y = (k + u) / 256 with u ~ U[0, 1) lies in pixel k's bin (its bits/dim, Glow's
  formula of the mixture's own log-likelihood, is checked in test_likelihood_table.py)."""
  from genjax.data.features import feature_data  # pylint: disable=g-import-not-at-top
  from genjax.data.image_data import load_splits  # pylint: disable=g-import-not-at-top
  config = _config(data=dict(name='digits', pca_dims=0, dequantize=True))
  features = feature_data(config).info.features
  train, _ = load_splits(config.data)
  k = train.images.reshape(len(train.images), -1).astype(np.float64)
  offset = features.train * 256.0 - k  # u, up to float32 rounding (207 + u may be 208)
  assert offset.min() >= 0 and offset.max() <= 1
  assert abs(np.mean(offset) - 0.5) < 0.01 and abs(np.var(offset) - 1 / 12) < 0.01  # U[0, 1)
  with pytest.raises(config_lib.ConfigError, match='pca_dims=0'):
    feature_data(_config(data=dict(name='digits', pca_dims=10, dequantize=True)))



def _built_both(tmp_path, **fields):
  """The family built from the full data and from the light DataInfo `genjax.load` reads,
  with params after two EM steps from the k-means start, their context and a test batch."""
  from genjax.data import info_file  # pylint: disable=g-import-not-at-top
  config = _config(**fields)
  data = gmm.FAMILY.data(config, 0, 1)
  info_file.write(data.info, str(tmp_path))
  full = gmm.build(config, data.info)
  light = gmm.build(config, info_file.read(str(tmp_path)))
  batch = data.train.batch(0)
  params = full.training.init_params(jax.random.PRNGKey(0), batch)
  state = create_train_state(params, None, jax.random.PRNGKey(0), ema=False,
                             model_state=full.training.init_model_state(None, batch, params))
  for _ in range(2):
    state, _ = jax.jit(full.training.update_fn)(state, batch, None, None)
  test = next(iter(data.splits['test'](64, 0, 1, 64)))
  test.pop('mask')
  context = StepContext(model_state=jax.device_get(state.model_state))
  return full, light, jax.device_get(state.params), context, test, data.info


def _sklearn_mixture(params, kind):
  """scikit-learn's GaussianMixture holding these params (float64)."""
  from sklearn.mixture import GaussianMixture  # pylint: disable=g-import-not-at-top
  mixture = GaussianMixture(n_components=len(params['weights']), covariance_type=kind)
  mixture.weights_, mixture.means_, mixture.precisions_cholesky_ = (
      np.asarray(params[k], np.float64) for k in ('weights', 'means', 'precisions_cholesky'))
  mixture.n_features_in_ = params['means'].shape[1]
  return mixture


@pytest.mark.parametrize('kind', ['full', 'tied', 'diag', 'spherical'])
def test_the_likelihood_is_the_mixtures_density_of_the_features_as_sklearn_scores_it(
    kind, tmp_path):
  full, light, params, context, batch, _ = _built_both(
      tmp_path, model=dict(components=5, covariance_type=kind))
  rng = jax.random.PRNGKey(0)
  likelihood = light.inference.likelihood
  assert likelihood.exact and likelihood.dims == 10 and likelihood.options == {}
  assert 'PCA features' in likelihood.description and 'not over pixels' in likelihood.description
  scored = lambda family: np.asarray(jax.jit(
      lambda p, b: family.inference.likelihood.nll(p, b, rng, context))(params, batch))
  nll = scored(light)  # jitted, as genjax.load calls it
  assert nll.shape == (64,)
  np.testing.assert_array_equal(nll, scored(full))
  # The eval's log-likelihood, and scikit-learn's score_samples with the same params.
  np.testing.assert_allclose(
      nll, -np.asarray(full.reporting.eval_fn(params, batch, rng, context)['log_likelihood']),
      rtol=1e-6)
  mixture = _sklearn_mixture(params, kind)
  x = np.asarray(batch['x'], np.float64)
  np.testing.assert_allclose(nll, -mixture.score_samples(x), rtol=2e-5, atol=2e-5)
  # encode: the responsibilities and the most likely component, as scikit-learn's.
  codes = light.inference.encode(params, batch, rng, context)
  np.testing.assert_allclose(codes['responsibilities'], mixture.predict_proba(x), atol=1e-5)
  np.testing.assert_array_equal(codes['component'], mixture.predict(x))
  jax.tree.map(np.testing.assert_array_equal, codes,
               full.inference.encode(params, batch, rng, context))


def test_built_without_the_data_it_samples_and_scores_as_with_it(tmp_path):
  full, light, params, context, batch, info = _built_both(tmp_path)
  assert light.reporting.artifacts_fn is None and full.reporting.artifacts_fn is not None
  assert light.inference.sample_options == {}  # an unconditional mixture: no options
  draw = lambda family, seed, n=6: np.asarray(family.inference.sample(
      params, jax.random.PRNGKey(seed), n, context))
  samples = draw(light, 1)
  np.testing.assert_array_equal(samples, draw(full, 1))
  np.testing.assert_array_equal(samples, draw(light, 1))
  assert not np.array_equal(samples, draw(light, 2))
  assert samples.shape == (6, *info.features.image_shape)
  assert 0 <= samples.min() <= samples.max() <= 1
  # Draws from the mixture in feature space, mapped back to pixels by the PCA.
  from genjax.models import gmm as gmm_model  # pylint: disable=g-import-not-at-top
  features, _ = gmm_model.sample(jax.random.PRNGKey(1), params, 6, covariance_type='full')
  np.testing.assert_array_equal(samples, info.features.to_images(np.asarray(features)))
  rng = jax.random.PRNGKey(0)
  np.testing.assert_array_equal(light.inference.likelihood.nll(params, batch, rng, context),
                                full.inference.likelihood.nll(params, batch, rng, context))
  jax.tree.map(np.testing.assert_array_equal,
               light.reporting.eval_fn(params, batch, rng, context),
               full.reporting.eval_fn(params, batch, rng, context))


def test_on_dequantised_pixels_the_likelihood_is_the_evals_8_bit_rate(tmp_path):
  _, light, params, context, batch, _ = _built_both(
      tmp_path, data=dict(name='digits', pca_dims=0, dequantize=True),
      model=dict(components=3, covariance_type='diag'))
  rng = jax.random.PRNGKey(0)
  likelihood = light.inference.likelihood
  assert likelihood.exact and likelihood.dims == 64
  assert 'dequantised' in likelihood.description
  nats = np.asarray(likelihood.nll(params, batch, rng, context), np.float64)
  terms = light.reporting.eval_fn(params, batch, rng, context)
  np.testing.assert_allclose(nats / (64 * np.log(2.0)), terms['bits_per_dim'], rtol=1e-5)
  np.testing.assert_allclose(nats, -np.asarray(terms['log_likelihood']) + 64 * np.log(256),
                             rtol=1e-5)
