"""PCA in closed form is scikit-learn's PCA, and its error is Eckart–Young's."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import sklearn
from sklearn.decomposition import PCA

from genjax.models import pca


def _anisotropic(n=300, d=12, seed=0):
  """Rows with well separated variances in a random basis, off the origin."""
  rng = np.random.default_rng(seed)
  basis, _ = np.linalg.qr(rng.standard_normal((d, d)))
  return (rng.standard_normal((n, d)) * np.geomspace(4.0, 0.05, d)) @ basis.T + 2.0


def _fit64(x, k):
  with jax.enable_x64(True):
    return jax.tree.map(np.asarray, pca.fit(jnp.asarray(x, jnp.float64), k))


@pytest.mark.parametrize('k', [1, 4, 11])
def test_reconstruction_error_is_the_sum_of_the_discarded_eigenvalues(k):
  x = _anisotropic()
  params = _fit64(x, k)
  with jax.enable_x64(True):
    error = np.sum((x - np.asarray(pca.reconstruct(params, jnp.asarray(x))))**2)
  eigenvalues = np.linalg.eigvalsh(np.cov(x, rowvar=False))[::-1]  # descending
  np.testing.assert_allclose(error, (len(x) - 1) * np.sum(eigenvalues[k:]), rtol=1e-10)
  np.testing.assert_allclose(params['explained_variance'], eigenvalues[:k], rtol=1e-10)


@pytest.mark.parametrize('solver', ['full', 'covariance_eigh'])
def test_the_same_components_and_signs_as_sklearn(solver):
  x = _anisotropic()
  params = _fit64(x, 5)
  ref = PCA(n_components=5, svd_solver=solver).fit(x)
  np.testing.assert_allclose(params['components'], ref.components_, atol=1e-10)
  for name in ('mean', 'explained_variance', 'explained_variance_ratio', 'singular_values'):
    np.testing.assert_allclose(params[name], getattr(ref, name + '_'), rtol=1e-10, err_msg=name)
  with jax.enable_x64(True):
    codes = np.asarray(pca.encode(params, jnp.asarray(x)))
    back = np.asarray(pca.decode(params, jnp.asarray(codes)))
  np.testing.assert_allclose(codes, ref.transform(x), atol=1e-10)
  np.testing.assert_allclose(back, ref.inverse_transform(ref.transform(x)), atol=1e-10)


def test_fewer_rows_than_features_is_sklearns_pca_too():
  # The SVD of the data, not the eigenvectors of the D x D covariance, which has rank < D.
  x = _anisotropic(n=10, d=30)
  params = _fit64(x, 4)
  ref = PCA(n_components=4, svd_solver='full').fit(x)
  np.testing.assert_allclose(params['components'], ref.components_, atol=1e-10)
  for name in ('explained_variance', 'explained_variance_ratio', 'singular_values'):
    np.testing.assert_allclose(params[name], getattr(ref, name + '_'), rtol=1e-10, err_msg=name)


def test_sklearn_still_decides_signs_by_the_components():
  # genjax follows sklearn >= 1.5 (u_based_decision=False); a change there shows up here.
  assert tuple(map(int, sklearn.__version__.split('.')[:2])) >= (1, 5)
  components = _fit64(_anisotropic(), 5)['components']
  largest = components[np.arange(5), np.argmax(np.abs(components), 1)]
  assert np.all(largest > 0)


def test_components_ignore_the_order_of_the_rows():
  x = _anisotropic()
  shuffled = x[np.random.default_rng(1).permutation(len(x))]
  np.testing.assert_allclose(_fit64(shuffled, 5)['components'], _fit64(x, 5)['components'],
                             atol=1e-10)


def test_float32_on_digits_matches_sklearn():
  from sklearn.datasets import load_digits  # pylint: disable=g-import-not-at-top
  x = load_digits().data / 16.0
  params = pca.fit(jnp.asarray(x, jnp.float32), 10)
  ref = PCA(n_components=10, svd_solver='full').fit(x)
  np.testing.assert_allclose(params['components'], ref.components_, atol=2e-4)
  np.testing.assert_allclose(params['explained_variance_ratio'],
                             ref.explained_variance_ratio_, rtol=1e-4)


def test_too_many_components_is_refused():
  with pytest.raises(ValueError, match='n_components=13 must be in 1..min'):
    pca.fit(jnp.zeros((20, 12)), 13)
