"""Discrete pixel likelihoods: 256 bins that sum to one, and the logistic's bins by hand."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from genjax.objectives import pixel_likelihoods as pl

CENTRES = (2.0 * np.arange(256) / 255 - 1.0).astype(np.float32)
# (mean, log_scale): central, extreme means far outside [-1, 1], below the floor, large.
PARAMS = np.array([[0.0, -2.0], [0.3, -4.0], [-0.7, 0.5], [3.0, -1.0], [-3.0, -1.0],
                   [1.0, -7.0], [0.002, -7.0], [-1.0, -9.0], [0.5, 3.0], [0.0, 6.0]],
                  np.float32)


def _table(name):
  """log P(x = centre k) for every (mean, log_scale) row: [rows, 256]."""
  fn = jax.jit(lambda x, m, s: pl.log_likelihood(name, x, m, s))
  return np.asarray(fn(CENTRES[None], PARAMS[:, :1], PARAMS[:, 1:]), np.float64)


@pytest.mark.parametrize('name', pl.DISCRETE_LIKELIHOODS)
def test_the_256_bins_sum_to_one(name):
  log_p = _table(name)
  assert np.all(np.isfinite(log_p)) and np.all(log_p <= 1e-6)
  np.testing.assert_allclose(np.exp(log_p).sum(-1), 1.0, atol=2e-5)


def _log_sigmoid_difference(a, b):
  """log(sigmoid(a) - sigmoid(b)) in float64, from whichever tail avoids cancellation."""
  sig = lambda t: np.exp(-np.logaddexp(0.0, -t))
  with np.errstate(divide='ignore'):  # bins below float64's reach are left out below
    return np.log(np.where(a < 0, sig(a) - sig(b), sig(-b) - sig(-a)))


def test_logistic_bins_are_sigmoid_differences():
  log_p = _table('discretized_logistic')
  mean = PARAMS[:, :1].astype(np.float64)
  inv = np.exp(-np.maximum(PARAMS[:, 1:].astype(np.float64), pl.MIN_LOG_SCALE))
  x = CENTRES.astype(np.float64)[None]
  a, b = (x - mean + 1 / 255) * inv, (x - mean - 1 / 255) * inv
  expected = _log_sigmoid_difference(a, b)
  expected[:, 0] = -np.logaddexp(0.0, -a[:, 0])  # from -inf
  expected[:, -1] = -np.logaddexp(0.0, b[:, -1])  # to +inf
  # Where a bin's probability is not vanishingly small, its log matches to float32 accuracy.
  shown = expected > np.log(1e-30)
  assert shown.sum() > 1000
  np.testing.assert_allclose(log_p[shown], expected[shown], rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize('name', pl.DISCRETE_LIKELIHOODS)
def test_log_scale_below_the_floor_is_clamped(name):
  fn = jax.jit(lambda s: pl.log_likelihood(name, CENTRES, 0.3, s))
  floor = np.asarray(fn(jnp.full((256,), pl.MIN_LOG_SCALE)))
  np.testing.assert_array_equal(np.asarray(fn(jnp.full((256,), -30.0))), floor)
  assert not np.array_equal(np.asarray(fn(jnp.full((256,), pl.MIN_LOG_SCALE + 1.0))), floor)


def test_unknown_likelihood_and_centres():
  with pytest.raises(ValueError, match='discretized_logistic'):
    pl.log_likelihood('bernoulli', CENTRES, 0.0, 0.0)
  np.testing.assert_allclose(pl.to_centres(np.arange(256) / 255.0), CENTRES, atol=1e-7)
