"""A trained model's FID and Inception Score by the protocol, end to end on random Inception
weights saved as the converter saves them: the reference statistics of a dataset split,
then the samples of a VAE smoke run scored against them."""

import json
import shutil

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from genjax.evals import inception_features
from genjax.metrics.frechet import frechet_distance
from genjax.models import inception_weights
from genjax.models.inception import InceptionV3
from genjax.tools import fid
from tests.smoke_runs import trained


@pytest.mark.slow
def test_a_runs_samples_are_scored_against_a_splits_statistics(tmp_path, monkeypatch):
  monkeypatch.setattr(inception_features, 'MIN_SAMPLES', 8)  # the real 2,048 is for real scores
  weights = str(tmp_path / 'inception.npz')
  inception_weights.save(jax.jit(InceptionV3().init)(jax.random.PRNGKey(0),
                                                      jnp.zeros((1, 8, 8, 3))), weights)
  reference = str(tmp_path / 'digits_test.npz')
  stats = fid.dataset_statistics('digits', 'test', reference, weights=weights, batch_size=4,
                                 max_examples=16, log=lambda line: None)
  assert stats.num_samples == 16 and stats.source == 'digits test'

  workdir = str(tmp_path / 'vae')
  shutil.copytree(trained('vae').workdir, workdir)  # the score is written beside the run
  lines = []
  result = fid.score_run(workdir, reference, num_samples=16, weights=weights, batch_size=4,
                         log=lines.append)
  assert result == json.load(open(tmp_path / 'vae' / 'fid.json'))
  assert result['num_samples'] == 16 and result['reference'] == 'digits test (16 images, bilinear)'
  assert result['fid'] >= 0 and result['inception_score'] >= 1.0
  assert 'against digits test (16 images, bilinear)' in lines[0] and 'FID' in lines[-1]
  # The score is the distance between the samples' statistics and the file's.
  features = inception_features.InceptionFeatures(weights, batch_size=4)
  import genjax  # pylint: disable=g-import-not-at-top
  model = genjax.load(workdir)
  key = jax.random.PRNGKey(0)
  samples = np.concatenate([model.sample(jax.random.fold_in(key, i), 4) for i in range(4)])
  own, _ = features.statistics([samples], 'again')
  assert result['fid'] == pytest.approx(frechet_distance(own.mu, own.sigma, stats.mu,
                                                         stats.sigma), rel=1e-6)
