"""EM for a Gaussian mixture, in the spirit of scikit-learn's own tests
(sklearn/mixture/tests/test_gaussian_mixture.py): one step is scikit-learn's step, the
likelihood never decreases, the parameters are recovered, degenerate data is flagged."""

import functools
import warnings

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning
from sklearn.mixture import GaussianMixture
from sklearn.mixture import _gaussian_mixture as sklearn_gm

from genjax.models import gmm
from genjax.objectives import gmm as em

KINDS = gmm.COVARIANCE_TYPES


def _blobs(n, seed, centres=((0.0, 0.0), (3.0, 1.0), (0.5, 3.0)), weights=(0.2, 0.3, 0.5),
           scale=0.8):
  rng = np.random.default_rng(seed)
  centres = np.asarray(centres)
  labels = rng.choice(len(centres), n, p=weights)
  mixing = np.array([[1.0, 0.3], [0.0, 0.7]]) * scale
  return centres[labels] + rng.standard_normal((n, 2)) @ mixing, labels


def _precisions(factor, kind):
  if kind == 'full':
    return np.einsum('kij,klj->kil', factor, factor)
  return factor @ factor.T if kind == 'tied' else factor ** 2


@pytest.mark.parametrize('kind', KINDS)
def test_the_m_step_from_responsibilities_is_sklearns(kind):
  x, _ = _blobs(200, 0)
  resp = np.random.default_rng(1).dirichlet(np.ones(3), 200)
  with jax.enable_x64(True):
    params, ok = em.params_from_responsibilities(x, resp, reg_covar=1e-4,
                                                 covariance_type=kind)
  nk, means, covariances = sklearn_gm._estimate_gaussian_parameters(x, resp, 1e-4, kind)
  assert ok
  np.testing.assert_allclose(params['weights'], nk / nk.sum(), rtol=1e-10)
  np.testing.assert_allclose(params['means'], means, rtol=1e-10)
  np.testing.assert_allclose(params['precisions_cholesky'],
                             sklearn_gm._compute_precision_cholesky(covariances, kind),
                             rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize('kind', KINDS)
@pytest.mark.parametrize('block_rows', [em.BLOCK_ROWS, 7])  # one block; 42 and 6 rows left
def test_one_em_step_from_the_same_start_is_sklearns(kind, block_rows):
  x, _ = _blobs(300, 2)
  resp = np.random.default_rng(3).dirichlet(np.ones(3), 300)
  with jax.enable_x64(True):
    start, _ = em.params_from_responsibilities(x, resp, reg_covar=1e-6, covariance_type=kind)
    start = jax.tree.map(np.asarray, start)
    new, log_likelihood, ok = em.em_step(start, x, reg_covar=1e-6, covariance_type=kind,
                                         block_rows=block_rows)
  with warnings.catch_warnings():
    warnings.simplefilter('ignore', ConvergenceWarning)
    fitted = GaussianMixture(
        3, covariance_type=kind, max_iter=1, reg_covar=1e-6, weights_init=start['weights'],
        means_init=start['means'],
        precisions_init=_precisions(start['precisions_cholesky'], kind)).fit(x)
  assert ok
  np.testing.assert_allclose(log_likelihood, fitted.lower_bound_, rtol=1e-6)
  np.testing.assert_allclose(new['weights'], fitted.weights_, rtol=1e-6)
  np.testing.assert_allclose(new['means'], fitted.means_, rtol=1e-6)
  np.testing.assert_allclose(new['precisions_cholesky'], fitted.precisions_cholesky_,
                             rtol=1e-6, atol=1e-9)


@functools.partial(jax.jit, static_argnames=('kind', 'steps', 'reg_covar'))
def _run_em(params, x, *, kind, steps, reg_covar):
  def step(params, _):
    new, log_likelihood, ok = em.em_step(params, x, reg_covar=reg_covar, covariance_type=kind)
    return new, (log_likelihood, ok)
  return jax.lax.scan(step, params, None, length=steps)


@pytest.mark.parametrize('kind', KINDS)
def test_the_log_likelihood_never_decreases_at_reg_covar_zero(kind):
  # scikit-learn's test_monotonic_likelihood: EM's guarantee is exact at reg_covar=0.
  x, _ = _blobs(400, 4)
  with jax.enable_x64(True):
    resp = em.initial_responsibilities(jax.random.PRNGKey(0), jnp.asarray(x), num_components=3,
                                       init='random')
    start, _ = em.params_from_responsibilities(x, resp, reg_covar=0.0, covariance_type=kind)
    _, (log_likelihood, ok) = _run_em(start, x, kind=kind, steps=300, reg_covar=0.0)
  log_likelihood = np.asarray(log_likelihood)
  assert np.all(ok)
  # Rounding only: once converged, successive values differ in the last few bits.
  assert np.all(np.diff(log_likelihood) >= -1e-13 * np.abs(log_likelihood[1:])), (
      np.diff(log_likelihood).min())
  assert log_likelihood[-1] > log_likelihood[0] + 0.05


@pytest.mark.parametrize('init', em.INITS)
def test_weights_and_means_are_recovered_from_separated_data(init):
  centres = ((0.0, 0.0), (8.0, 1.0), (1.0, 8.0))
  x, _ = _blobs(3000, 5, centres=centres)
  x = jnp.asarray(x, jnp.float32)
  resp = em.initial_responsibilities(jax.random.PRNGKey(1), x, num_components=3, init=init)
  start, _ = em.params_from_responsibilities(x, resp, reg_covar=1e-6, covariance_type='full')
  fitted, (_, ok) = _run_em(start, x, kind='full', steps=100, reg_covar=1e-6)
  assert np.all(ok)
  order = np.argsort(np.asarray(fitted['means'])[:, 0] + 10 * np.asarray(fitted['means'])[:, 1])
  np.testing.assert_allclose(np.asarray(fitted['weights'])[order], (0.2, 0.3, 0.5), rtol=0.1)
  np.testing.assert_allclose(np.asarray(fitted['means'])[order], centres, atol=0.1)


@pytest.mark.parametrize('kind', KINDS)
def test_degenerate_data_is_flagged_at_reg_covar_zero_and_never_nan(kind):
  # scikit-learn's test_regularisation: two clusters of identical points, zero covariance.
  x = np.vstack([np.ones((5, 5)), np.zeros((5, 5))]).astype(np.float32)
  resp = np.eye(2, dtype=np.float32)[np.repeat([0, 1], 5)]
  params, ok = em.params_from_responsibilities(x, resp, reg_covar=0.0, covariance_type=kind)
  assert not ok
  assert all(np.isfinite(leaf).all() for leaf in jax.tree.leaves(params))
  assert not np.any(gmm.well_defined(params['precisions_cholesky'], covariance_type=kind))
  _, ok = em.params_from_responsibilities(x, resp, reg_covar=1e-6, covariance_type=kind)
  assert ok
