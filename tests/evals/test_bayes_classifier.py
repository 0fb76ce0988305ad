"""Bayes' rule on class-conditional densities, tested as math: two known Gaussians, whose
Bayes decision is a threshold. (The scorers read from saved runs: tests/tools.)"""

import numpy as np
import pytest
from scipy import stats

from genjax.evals import bayes_classifier as bayes

MEANS = np.array([-1.0, 2.0])


def _two_gaussians(n=4000, seed=0):
  """Labels with p(y=1) = 0.3 and x | y ~ N(MEANS[y], 1), and log p(x|y) for both y."""
  rng = np.random.default_rng(seed)
  labels = (rng.random(n) < 0.3).astype(np.int64)
  x = MEANS[labels] + rng.standard_normal(n)
  return x, labels, stats.norm.logpdf(x[:, None], MEANS[None], 1.0)


def test_the_decision_is_the_bayes_threshold_and_log_px_the_mixture_density():
  x, labels, log_lik = _two_gaussians()
  prior = bayes.log_prior(labels, 2)
  np.testing.assert_allclose(np.exp(prior), np.bincount(labels) / len(labels))
  s = bayes.summarise(log_lik, labels, prior)
  # log p(x|1) + log p(1) > log p(x|0) + log p(0)  <=>  x > threshold, solved by hand.
  p1 = np.exp(prior[1])
  threshold = (MEANS.sum() / 2 + np.log((1 - p1) / p1) / (MEANS[1] - MEANS[0]))
  assert s['accuracy'] == pytest.approx(np.mean((x > threshold) == labels))
  density = (1 - p1) * stats.norm.pdf(x, MEANS[0]) + p1 * stats.norm.pdf(x, MEANS[1])
  assert s['log_px'] == pytest.approx(np.mean(np.log(density)))
  assert s['log_px_given_true_y'] == pytest.approx(
      np.mean(stats.norm.logpdf(x, MEANS[labels])))
  posterior = p1 * stats.norm.pdf(x, MEANS[1]) / density
  assert s['mean_true_class_posterior'] == pytest.approx(
      np.mean(np.where(labels == 1, posterior, 1 - posterior)))


def test_confusion_and_least_likely_agree_with_the_scores():
  x, labels, log_lik = _two_gaussians(n=500, seed=1)
  prior = bayes.log_prior(labels, 2)
  counts = bayes.confusion(log_lik, labels, prior)
  assert counts.sum() == 500 and np.array_equal(counts.sum(axis=1), np.bincount(labels))
  assert np.trace(counts) / 500 == pytest.approx(bayes.summarise(log_lik, labels, prior)[
      'accuracy'])
  worst = bayes.least_likely(log_lik, labels, 5)
  distance = np.abs(x - MEANS[labels])  # under unit variance, least likely = farthest
  np.testing.assert_array_equal(worst, np.argsort(-distance)[:5])


def test_scores_do_not_depend_on_the_batching():
  x, _, log_lik = _two_gaussians(n=103)
  scorer = lambda inputs: stats.norm.logpdf(inputs[:, None], MEANS[None], 1.0)
  seen = []
  every = bayes.class_log_likelihoods(scorer, x, batch_size=10,
                                      progress=lambda done, total: seen.append(done))
  np.testing.assert_allclose(every, log_lik)
  assert seen[-1] == 103 and len(seen) == 11
