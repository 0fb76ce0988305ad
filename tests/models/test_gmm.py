"""The mixture density against scikit-learn's, its criteria and its samples; k-means."""

import warnings

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning
from sklearn.mixture import GaussianMixture

from genjax.models import gmm
from genjax.models import kmeans
from genjax.objectives import gmm as em


def _sklearn_fit(x, kind, **kwargs):
  with warnings.catch_warnings():
    warnings.simplefilter('ignore', ConvergenceWarning)
    return GaussianMixture(covariance_type=kind, **kwargs).fit(x)


@pytest.mark.parametrize('kind', gmm.COVARIANCE_TYPES)
def test_log_likelihood_and_criteria_are_sklearns(kind):
  x = np.random.default_rng(0).standard_normal((300, 3)) @ np.diag([1.0, 2.0, 0.5])
  fitted = _sklearn_fit(x, kind, n_components=3, max_iter=5, random_state=0)
  params = {'weights': fitted.weights_, 'means': fitted.means_,
            'precisions_cholesky': fitted.precisions_cholesky_}
  with jax.enable_x64(True):
    np.testing.assert_allclose(gmm.log_likelihood(params, x, covariance_type=kind),
                               fitted.score_samples(x), rtol=1e-10)
    np.testing.assert_allclose(gmm.bic(params, x, covariance_type=kind), fitted.bic(x),
                               rtol=1e-10)
    np.testing.assert_allclose(gmm.aic(params, x, covariance_type=kind), fitted.aic(x),
                               rtol=1e-10)


@pytest.mark.slow
def test_every_covariance_type_gives_one_bic_for_one_component_in_1d():
  # scikit-learn's test_bic_1d_1component: the four parameterisations coincide.
  x = np.random.default_rng(1).standard_normal((200, 1)) * 3.0 + 1.0
  with jax.enable_x64(True):
    bics = []
    for kind in gmm.COVARIANCE_TYPES:
      params, ok = em.params_from_responsibilities(x, np.ones((200, 1)), reg_covar=1e-6,
                                                   covariance_type=kind)
      assert ok
      bics.append(float(gmm.bic(params, x, covariance_type=kind)))
    np.testing.assert_allclose(bics, bics[0], rtol=1e-12)
    np.testing.assert_allclose(bics[0], _sklearn_fit(x, 'full', n_components=1).bic(x),
                               rtol=1e-10)


def test_num_parameters_are_sklearns():
  for kind in gmm.COVARIANCE_TYPES:
    fitted = _sklearn_fit(np.random.default_rng(2).standard_normal((50, 4)), kind,
                          n_components=3, max_iter=1)
    assert gmm.num_parameters(num_components=3, num_features=4,
                              covariance_type=kind) == fitted._n_parameters()


@pytest.mark.slow
@pytest.mark.parametrize('kind', gmm.COVARIANCE_TYPES)
def test_samples_have_each_components_weight_mean_and_covariance(kind):
  x = np.random.default_rng(3).standard_normal((400, 2)) @ np.array([[2.0, 0.0], [1.0, 0.5]])
  with jax.enable_x64(True):
    params, _ = em.params_from_responsibilities(
        x, np.eye(2)[(x[:, 0] > 0).astype(int)], reg_covar=1e-6, covariance_type=kind)
    samples, labels = gmm.sample(jax.random.PRNGKey(0), params, 40000, covariance_type=kind)
  samples, labels = np.asarray(samples), np.asarray(labels)
  params = jax.tree.map(np.asarray, params)
  np.testing.assert_allclose(np.bincount(labels, minlength=2) / 40000, params['weights'],
                             atol=0.01)
  for k in range(2):
    drawn = samples[labels == k]
    np.testing.assert_allclose(drawn.mean(0), params['means'][k], atol=0.05)
    covariance = np.linalg.inv(_precision(params['precisions_cholesky'], kind, k))
    np.testing.assert_allclose(np.cov(drawn.T), covariance, rtol=0.05, atol=0.02)


def _precision(factor, kind, k):
  if kind == 'full':
    return factor[k] @ factor[k].T
  if kind == 'tied':
    return factor @ factor.T
  return np.diag(np.broadcast_to(factor[k] ** 2, (2,)))


def test_a_covariance_that_is_not_positive_definite_gets_factor_zero_and_no_nan():
  covariances = np.stack([np.eye(2), np.array([[1.0, 2.0], [2.0, 1.0]])])
  factor, ok = gmm.precisions_cholesky(jnp.asarray(covariances), covariance_type='full')
  assert ok.tolist() == [True, False] and np.isfinite(factor).all()
  assert np.all(factor[1] == 0) and gmm.well_defined(
      factor, covariance_type='full').tolist() == [True, False]
  factor, ok = gmm.precisions_cholesky(jnp.array([1.0, 0.0, -1.0]),
                                       covariance_type='spherical')
  assert ok.tolist() == [True, False, False] and factor.tolist() == [1.0, 0.0, 0.0]


def test_kmeans_finds_separated_centres_from_distinct_seeds():
  rng = np.random.default_rng(4)
  centres = np.array([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0], [10.0, 10.0]])
  x = (centres[rng.integers(0, 4, 800)] + rng.standard_normal((800, 2))).astype(np.float32)
  seeds = kmeans.kmeans_plusplus(jax.random.PRNGKey(0), jnp.asarray(x), 4)
  assert len(set(np.asarray(seeds).tolist())) == 4
  found = np.asarray(jax.jit(kmeans.kmeans, static_argnums=2)(jax.random.PRNGKey(0), x, 4))
  distances = np.linalg.norm(centres[:, None] - found[None], axis=-1)
  assert np.all(distances.min(1) < 0.2), found
