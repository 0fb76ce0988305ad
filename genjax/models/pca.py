"""Principal component analysis in closed form: the eigendecomposition of the covariance.

Pearson (1901), Hotelling (1933). By Eckart & Young (1936) the rank-k reconstruction
`mean + (x - mean) Vₖᵀ Vₖ` has the least squared error of any rank-k affine map, and that
error summed over the n rows it was fitted to is the sum of the discarded squared singular
values, (n - 1) times the sum of the discarded covariance eigenvalues.

Params are a dict laid out as scikit-learn's `PCA` attributes: `mean` [D], `components`
[k, D] (orthonormal rows), `explained_variance`, `explained_variance_ratio` and
`singular_values` [k]. Signs follow `sklearn.decomposition.PCA` 1.9, which since 1.5 calls
`svd_flip(u, vt, u_based_decision=False)`: the largest |entry| of each component is
positive. Unlike a sign decided by U, this depends on no row's order or position, so a
shuffled or sharded batch gives the same components.

With at least as many rows as features, `fit` takes the eigenvectors of the D x D matrix
(x - mean)^T (x - mean) (scikit-learn's 'covariance_eigh' solver, on data centred first),
not the SVD of the N x D data: several times faster on a tall training set such as
Fashion-MNIST's (benchmarks/pca_sklearn.py), with its top explained variances close to
float64's (tests/models/test_pca.py). Squaring the data costs precision only in the smallest eigenvalues, whose
relative error grows as eps * largest / that eigenvalue. Fewer rows than features: the SVD.

Example:
  params = fit(x, n_components=2)
  codes = encode(params, x)  # [N, 2]
  x_hat = decode(params, codes)  # [N, D]
"""

from __future__ import annotations

import jax
import jax.numpy as jnp


def flip_signs(vt: jax.Array) -> jax.Array:
  """Rows of `vt` times the sign of their largest-magnitude entry (first one on ties)."""
  largest = jnp.take_along_axis(vt, jnp.argmax(jnp.abs(vt), axis=1)[:, None], axis=1)
  return vt * jnp.sign(largest)


def fit(x: jax.Array, n_components: int) -> dict[str, jax.Array]:
  """PCA of the rows of `x` [N, D], N >= 2, keeping `n_components` <= min(N, D).

  Variances use N - 1 in the denominator, as scikit-learn's do; the ratio is to the total
  variance over all D directions.
  """
  n, d = x.shape
  if not 1 <= n_components <= min(n, d):
    raise ValueError(f'n_components={n_components} must be in 1..min(N, D) = '
                     f'{min(n, d)} for data of shape {x.shape}.')
  if n < 2:
    raise ValueError(f'PCA needs at least 2 rows to estimate a variance, got {n}.')
  mean = jnp.mean(x, axis=0)
  centred = x - mean
  if n >= d:
    eigenvalues, eigenvectors = jnp.linalg.eigh(centred.T @ centred)  # ascending
    # Positive semi-definite, but rounding can leave the smallest slightly below 0.
    squared = jnp.maximum(eigenvalues[::-1], 0.0)
    singular_values, vt = jnp.sqrt(squared), eigenvectors[:, ::-1].T
  else:
    _, singular_values, vt = jnp.linalg.svd(centred, full_matrices=False)
    squared = singular_values**2
  variance = squared / (n - 1)
  k = n_components
  return {'mean': mean, 'components': flip_signs(vt[:k]), 'explained_variance': variance[:k],
          'explained_variance_ratio': variance[:k] / jnp.sum(variance),
          'singular_values': singular_values[:k]}


def encode(params: dict[str, jax.Array], x: jax.Array) -> jax.Array:
  """Scores [..., k] of points [..., D] on the components."""
  return (x - params['mean']) @ params['components'].T


def decode(params: dict[str, jax.Array], codes: jax.Array) -> jax.Array:
  """Points [..., D] back from their scores [..., k]."""
  return codes @ params['components'] + params['mean']


def reconstruct(params: dict[str, jax.Array], x: jax.Array) -> jax.Array:
  """The projection of `x` onto the affine principal subspace."""
  return decode(params, encode(params, x))
