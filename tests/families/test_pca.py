"""The PCA family fits scikit-learn's PCA in one step of the one training loop."""

import functools
import json

import numpy as np
import pytest
from sklearn.decomposition import PCA

from configs import pca as pca_config
from genjax import data as data_lib
from genjax.config import ConfigError
from genjax.families import pca as pca_family
from genjax.training.loop import check_family, train_and_evaluate
from genjax.training.restore import load_run
from tests.families.run_config import unlocked

_config = functools.partial(unlocked, pca_config)


def _digits(split):
  images = data_lib.load_image_dataset('digits', split).images
  return images.reshape(len(images), -1).astype(np.float64) / 255.0


def test_one_step_is_sklearns_pca_of_the_training_set_and_stays_finished(tmp_path):
  final = train_and_evaluate(pca_family.FAMILY, _config(), str(tmp_path))
  run = load_run(str(tmp_path), family='pca')
  assert run.step == 1
  ref = PCA(n_components=10, svd_solver='full').fit(_digits('train'))
  np.testing.assert_allclose(run.params['components'], ref.components_, atol=1e-4)
  np.testing.assert_allclose(run.params['explained_variance'], ref.explained_variance_,
                             rtol=1e-4)
  test = _digits('test')
  expected = np.mean(np.sum((test - ref.inverse_transform(ref.transform(test)))**2, 1))
  assert final['squared_error'] == pytest.approx(expected, rel=1e-4)
  assert final['mse'] == pytest.approx(expected / 64, rel=1e-4)
  saved = json.load(open(tmp_path / 'final_metrics.json'))
  assert saved['explained_variance_ratio_total'] == pytest.approx(
      ref.explained_variance_ratio_.sum(), rel=1e-4)
  # Finished: running it again reports the saved numbers and fits nothing.
  again = train_and_evaluate(pca_family.FAMILY, _config(), str(tmp_path))
  assert again['squared_error'] == final['squared_error']
  assert load_run(str(tmp_path)).step == 1


def test_a_longer_duration_still_ends_after_the_one_step(tmp_path):
  train_and_evaluate(pca_family.FAMILY, _config(total_steps=5), str(tmp_path))
  assert json.load(open(tmp_path / 'final_metrics.json'))['step'] == 1


def test_a_batch_that_is_not_the_whole_training_set_is_refused(tmp_path):
  with pytest.raises(ConfigError, match=r'batch_size must be its 1500 examples, not 100; '
                                        r'set --config.batch_size=1500'):
    train_and_evaluate(pca_family.FAMILY, _config(batch_size=100), str(tmp_path))


@pytest.mark.parametrize('arg', ['', 'mnist', 'k2', 'k50', 'smoke,k5'])
def test_every_variant_validates(arg):
  check_family(pca_config.get_config(arg), pca_family.FAMILY)


def _fitted(tmp_path):
  """The smoke config's family built from the full data and from the light DataInfo
  `genjax.load` reads, the PCA fitted to the training set, and a test batch."""
  import jax.numpy as jnp  # pylint: disable=g-import-not-at-top
  from genjax.data import info_file  # pylint: disable=g-import-not-at-top
  from genjax.models import pca  # pylint: disable=g-import-not-at-top
  config = _config()
  data = pca_family.FAMILY.data(config, 0, 1)
  info_file.write(data.info, str(tmp_path))
  full = pca_family.build(config, data.info)
  light = pca_family.build(config, info_file.read(str(tmp_path)))
  params = pca.fit(pca_family.flatten(jnp.asarray(data.train.batch(0)['image'])),
                   config.model.n_components)
  batch = next(iter(data.splits['test'](64, 0, 1, 64)))
  batch.pop('mask')
  return full, light, params, batch


def test_built_without_the_data_pca_encodes_decodes_and_evaluates_as_with_it(tmp_path):
  import jax  # pylint: disable=g-import-not-at-top
  from genjax.training.family import StepContext  # pylint: disable=g-import-not-at-top
  full, light, params, batch = _fitted(tmp_path)
  context, rng = StepContext(), jax.random.PRNGKey(0)
  assert light.reporting.artifacts_fn is None and full.reporting.artifacts_fn is not None
  # No density: nothing to sample or score.
  assert light.inference.sample is None and light.inference.likelihood is None
  for family in (full, light):
    codes = np.asarray(family.inference.encode(params, batch, rng, context))
    assert codes.shape == (64, 10)
    np.testing.assert_array_equal(codes, np.asarray(light.inference.encode(params, batch, rng,
                                                                           context)))
    images = np.asarray(family.inference.decode(params, codes, context))
    assert images.shape == batch['image'].shape and 0 <= images.min() <= images.max() <= 1
    got = family.reporting.eval_fn(params, batch, rng, context)
    want = full.reporting.eval_fn(params, batch, rng, context)
    jax.tree.map(np.testing.assert_array_equal, got, want)
  # encode is scikit-learn's transform, decode its inverse_transform clipped to [0, 1].
  x = batch['image'].reshape(64, -1).astype(np.float64)
  ref = PCA(n_components=10, svd_solver='full').fit(_digits('train'))
  codes = np.asarray(light.inference.encode(params, batch, rng, context))
  np.testing.assert_allclose(codes, ref.transform(x), atol=1e-4)
  images = np.asarray(light.inference.decode(params, codes, context)).reshape(64, -1)
  np.testing.assert_allclose(images, np.clip(ref.inverse_transform(ref.transform(x)), 0, 1),
                             atol=1e-4)
  # Unclipped, the same reconstruction is what eval's squared error measures.
  errors = light.reporting.eval_fn(params, batch, rng, context)['squared_error']
  np.testing.assert_allclose(
      errors, np.sum((x - ref.inverse_transform(ref.transform(x)))**2, 1), rtol=1e-3)
