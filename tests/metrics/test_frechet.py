"""The Fréchet distance as math: zero on itself, symmetric, closed forms, mean shifts."""

import numpy as np
import pytest
from scipy import linalg

from genjax.metrics import frechet


def features(seed, n=2000, d=6, shift=0.0, scale=1.0):
  rng = np.random.default_rng(seed)
  mix = rng.standard_normal((d, d)) / np.sqrt(d)
  return (rng.standard_normal((n, d)) @ mix) * scale + shift


def test_zero_for_identical_feature_sets():
  a = features(0)
  assert frechet.frechet_distance_from_features(a, a) == pytest.approx(0.0, abs=1e-8)


def test_symmetric():
  a, b = features(0), features(1, scale=1.5, shift=0.3)
  assert frechet.frechet_distance_from_features(a, b) == pytest.approx(
      frechet.frechet_distance_from_features(b, a), rel=1e-9)


def test_grows_with_a_mean_shift_by_its_square():
  a = features(0)
  d = [frechet.frechet_distance_from_features(a, a + s) for s in (0.0, 0.5, 1.0, 2.0)]
  assert np.all(np.diff(d) > 0)
  np.testing.assert_allclose(d, 6 * np.array([0.0, 0.25, 1.0, 4.0]), atol=1e-8)


def test_one_dimensional_closed_form():
  """d^2 = (m1 - m2)^2 + (s1 - s2)^2 for 1-D Gaussians."""
  got = frechet.frechet_distance([1.0], [[4.0]], [-0.5], [[0.25]])
  assert got == pytest.approx(1.5**2 + (2.0 - 0.5) ** 2, rel=1e-12)


def test_matches_scipy_sqrtm_formula():
  mu1, s1 = frechet.feature_statistics(features(2))
  mu2, s2 = frechet.feature_statistics(features(3, scale=0.7, shift=0.1))
  expected = (np.sum((mu1 - mu2) ** 2) + np.trace(s1 + s2)
              - 2 * np.trace(linalg.sqrtm(s1 @ s2).real))
  assert frechet.frechet_distance(mu1, s1, mu2, s2) == pytest.approx(expected, rel=1e-8)


def test_scorer_in_a_fixed_feature_space():
  rng = np.random.default_rng(4)
  ref = rng.random((300, 4, 4, 1)).astype(np.float32)
  scorer = frechet.FrechetScorer(lambda x: x.reshape(len(x), -1)[:, :5], ref, batch_size=64)
  assert scorer(ref) == pytest.approx(0.0, abs=1e-8)
  assert scorer(np.clip(ref + 0.2, 0, 1)) > scorer(np.clip(ref + 0.05, 0, 1)) > 0
