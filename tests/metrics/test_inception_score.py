"""The Inception Score as the paper defines it, and feature moments accumulated in batches
equal to NumPy's over all rows at once."""

import numpy as np
import pytest
from scipy.special import softmax

from genjax.metrics.feature_moments import FeatureMoments
from genjax.metrics.inception_score import inception_score


def _reference(logits, splits):
  """Salimans et al.'s code, transcribed: per split, exp(mean KL(p(y|x) || p(y)))."""
  preds = softmax(np.asarray(logits, np.float64), axis=1)
  scores = []
  n = len(preds) // splits
  for k in range(splits):
    part = preds[k * n:(k + 1) * n]
    py = np.mean(part, axis=0)
    scores.append(np.exp(np.mean(np.sum(part * (np.log(part) - np.log(py)), axis=1))))
  return np.mean(scores), np.std(scores)


def test_the_score_is_the_papers_formula():
  logits = np.random.default_rng(0).normal(size=(1003, 12)) * 3
  np.testing.assert_allclose(inception_score(logits, 10), _reference(logits, 10), rtol=1e-10)


def test_confident_even_classes_score_their_number_and_one_class_scores_one():
  confident = np.full((100, 8), -50.0)
  confident[np.arange(100), np.arange(100) % 4] = 50.0  # 4 classes, each certain
  mean, std = inception_score(confident, splits=5)
  assert mean == pytest.approx(4.0, rel=1e-6) and std < 1e-6
  assert inception_score(np.zeros((50, 8)), splits=5)[0] == pytest.approx(1.0)


def test_too_few_samples_for_the_splits_are_refused():
  with pytest.raises(ValueError, match='N >= 10'):
    inception_score(np.zeros((9, 3)))


def test_moments_in_batches_equal_numpys_over_all_rows():
  rng = np.random.default_rng(1)
  features = (rng.normal(size=(500, 6)) * [1, 2, 3, 4, 5, 6] + 1e4).astype(np.float32)
  moments = FeatureMoments(6)
  for batch in np.array_split(features, 7):
    moments.add(batch)
  assert moments.count == 500
  np.testing.assert_allclose(moments.mean(), features.astype(np.float64).mean(0), rtol=1e-12)
  np.testing.assert_allclose(moments.covariance(),
                             np.cov(features.astype(np.float64), rowvar=False), rtol=1e-9)
