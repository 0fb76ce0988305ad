"""The Parzen-window estimator against a direct NumPy log-mean-exp, and its protocol."""

import numpy as np

from genjax.evals import parzen


def _direct(x, samples, sigma):
  """log mean_i N(x; s_i, sigma^2 I), term by term, in float64."""
  out = []
  for xi in x.reshape(len(x), -1):
    d = xi.size
    log_k = [-np.sum((xi - s) ** 2) / (2 * sigma ** 2) - d * np.log(sigma * np.sqrt(2 * np.pi))
             for s in samples.reshape(len(samples), -1)]
    out.append(np.log(np.mean(np.exp(log_k))))
  return np.asarray(out)


def test_parzen_equals_a_direct_log_mean_exp():
  rng = np.random.default_rng(0)
  x, samples = rng.random((7, 3, 3, 1)), rng.random((40, 3, 3, 1))
  sigmas = [0.3, 0.5, 1.0]
  got = parzen.log_likelihoods(x, samples, sigmas)
  for j, sigma in enumerate(sigmas):
    np.testing.assert_allclose(got[j], _direct(x, samples, sigma), rtol=1e-10)


def test_parzen_is_stable_where_every_kernel_underflows():
  # Images far from every sample at a narrow width: exp underflows to 0 term by term, the
  # log-sum-exp does not, and the nearest sample dominates.
  x, samples = np.ones((2, 4)), np.zeros((3, 4)) + np.asarray([[0.0], [0.1], [0.2]])
  sigma = 0.01
  ll = parzen.log_likelihoods(x, samples, [sigma])[0]
  nearest = -np.sum((1 - 0.2) ** 2 * np.ones(4)) / (2 * sigma ** 2)
  expected = nearest - np.log(3) - 4 * np.log(sigma * np.sqrt(2 * np.pi))
  np.testing.assert_allclose(ll, expected, rtol=1e-9)


def test_chunks_do_not_change_the_result(monkeypatch):
  rng = np.random.default_rng(1)
  x, samples = rng.random((9, 5)), rng.random((11, 5))
  whole = parzen.log_likelihoods(x, samples, [0.4])
  monkeypatch.setattr(parzen, 'CHUNK', 4)
  np.testing.assert_array_equal(parzen.log_likelihoods(x, samples, [0.4]), whole)


def test_sigma_is_chosen_on_validation_and_scored_with_its_standard_error():
  rng = np.random.default_rng(2)
  samples = rng.normal(0.0, 0.3, (500, 2))
  validation, test = rng.normal(0.0, 0.3, (200, 2)), rng.normal(0.0, 0.3, (300, 2))
  sigma, means = parzen.choose_sigma(validation, samples)
  assert len(means) == 10 and sigma == parzen.GOODFELLOW_SIGMAS[int(np.argmax(means))]
  assert 0.1 <= sigma < 0.3  # narrower than the data, wider than nothing
  mean, se = parzen.score(test, samples, sigma)
  ll = parzen.log_likelihoods(test, samples, [sigma])[0]
  np.testing.assert_allclose([mean, se], [ll.mean(), ll.std() / np.sqrt(300)])
  # The data's own log-density is about -2 log(0.3 sqrt(2 pi e)) = -0.43 nats: the kernel
  # estimate falls below it, as a density estimate from finite samples does.
  assert -1.5 < mean < -0.2
