"""The classifier trains through the one loop, and its checkpoint and export load back
into a feature function that the Fréchet distance can use."""

import json
import os

import jax.numpy as jnp
import numpy as np
import pytest

from genjax import data as data_lib
from genjax.evals import classifier_features as classifier
from genjax.families import classifier as classifier_family
from genjax.metrics.frechet import FrechetScorer
from genjax.models.classifier import Classifier
from genjax.training.loop import train_and_evaluate


@pytest.fixture(scope='module')
def workdir(tmp_path_factory):
  from configs import classifier as classifier_config  # pylint: disable=g-import-not-at-top
  c = classifier_config.get_config('smoke')
  c.unlock()
  c.eval.train_examples = 0
  c.total_steps, c.eval_every, c.ckpt_every = 4, 0, 0  # one evaluation and save, at the end
  path = str(tmp_path_factory.mktemp('classifier'))
  train_and_evaluate(classifier_family.FAMILY, c, path)
  return path


def _test_split():
  arrays = data_lib.load_image_dataset('digits', 'test')
  return arrays.images.astype(np.float32) / 255.0, arrays.labels


def test_checkpoint_loads_back_to_the_evaluated_network(workdir):
  model, params, signature = classifier.load_checkpoint(workdir)
  assert signature['family'] == 'classifier' and signature['image_shape'] == [8, 8, 1]
  images, labels = _test_split()
  accuracy = float(np.mean(np.argmax(model.apply(params, jnp.asarray(images)), -1) == labels))
  with open(os.path.join(workdir, 'metrics.jsonl')) as f:
    rows = [json.loads(line) for line in f if line.strip()]
  last = [r for r in rows if r.get('split') == 'test'][-1]
  assert accuracy == pytest.approx(last['accuracy'], abs=1e-6)


def test_export_round_trip_and_features_for_the_frechet_distance(workdir, tmp_path):
  model, params, _ = classifier.load_checkpoint(workdir)
  path = classifier.export(workdir, str(tmp_path / 'classifier.msgpack'))
  images, _ = _test_split()
  from_dir, from_file = classifier.load_feature_fn(workdir), classifier.load_feature_fn(path)
  np.testing.assert_array_equal(from_dir(images[:50]), from_file(images[:50]))
  np.testing.assert_allclose(from_dir(images[:50]), model.apply(
      params, jnp.asarray(images[:50]), method=Classifier.features), rtol=1e-6)
  scorer = FrechetScorer(from_file, images, batch_size=100)
  assert scorer(images) == pytest.approx(0.0, abs=1e-6)
  noise = np.random.default_rng(0).random(images.shape, dtype=np.float32)
  assert scorer(noise) > scorer(np.clip(images + 0.1 * (noise - 0.5), 0, 1)) > 0


def test_a_missing_classifier_names_the_command_that_trains_one(tmp_path):
  from genjax.errors import UserError  # pylint: disable=g-import-not-at-top
  from genjax.evals import classifier_features  # pylint: disable=g-import-not-at-top
  with pytest.raises(UserError, match='experiments.classifier'):
    classifier_features.load_feature_and_logits_fns(str(tmp_path / 'runs' / 'classifier'))


def test_built_without_the_data_it_evaluates_as_with_it_and_offers_no_inference(tmp_path):
  import jax  # pylint: disable=g-import-not-at-top
  from configs import classifier as classifier_config  # pylint: disable=g-import-not-at-top
  from genjax.data import info_file  # pylint: disable=g-import-not-at-top
  from genjax.training.family import Inference, StepContext  # pylint: disable=g-import-not-at-top
  config = classifier_config.get_config('smoke')
  data = classifier_family.FAMILY.data(config, 0, 1)
  info_file.write(data.info, str(tmp_path))
  full = classifier_family.build(config, data.info)
  light = classifier_family.build(config, info_file.read(str(tmp_path)))
  assert light.reporting.artifacts_fn is None and full.reporting.artifacts_fn is not None
  assert light.inference == Inference()  # p(label | image): nothing to sample or score
  rng, context = jax.random.PRNGKey(0), StepContext()
  params = full.training.init_params(rng, data.train.batch(0))
  batch = next(iter(data.splits['test'](32, 0, 1, 32)))
  batch.pop('mask')
  jax.tree.map(np.testing.assert_array_equal,
               light.reporting.eval_fn(params, batch, rng, context),
               full.reporting.eval_fn(params, batch, rng, context))
