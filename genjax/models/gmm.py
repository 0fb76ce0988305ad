"""The Gaussian mixture density, parameterised as scikit-learn's `GaussianMixture` stores it.

Params are a dict of `weights` [K], `means` [K, D] and `precisions_cholesky`, the upper
triangular factor P of each precision (precision = P P^T, so that ||(x - mu) P||^2 is the
Mahalanobis distance). Its shape depends on the covariance type:

  'full' [K, D, D]   'tied' [D, D]   'diag' [K, D]   'spherical' [K]

Log-determinants are read off P's diagonal and the normaliser is a logsumexp, so nothing
is inverted or exponentiated on the way to a log-likelihood. A component whose covariance
was not positive definite has P = 0 (see `precisions_cholesky`): finite, and told apart by
`well_defined`.

Reference: scikit-learn, sklearn/mixture/_gaussian_mixture.py (1.9).
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
from jax.scipy.linalg import solve_triangular

COVARIANCE_TYPES = ('full', 'tied', 'diag', 'spherical')


def precisions_cholesky(covariances: jax.Array, *, covariance_type: str
                        ) -> tuple[jax.Array, jax.Array]:
  """The precisions' upper Cholesky factors, and which components have one.

  Args:
    covariances: [K, D, D] ('full'), [D, D] ('tied'), [K, D] ('diag') or [K] ('spherical').
    covariance_type: one of COVARIANCE_TYPES.

  Returns:
    (P, ok): P shaped like scikit-learn's `precisions_cholesky_`, 0 for every component
    whose covariance is not positive definite; ok [K] (a scalar for 'tied') is False for
    those.
  """
  if covariance_type in ('full', 'tied'):
    lower = jnp.linalg.cholesky(covariances)  # NaN where not positive definite
    eye = jnp.broadcast_to(jnp.eye(covariances.shape[-1], dtype=covariances.dtype),
                           covariances.shape)
    factor = jnp.swapaxes(solve_triangular(lower, eye, lower=True), -1, -2)
    ok = jnp.all(jnp.isfinite(factor), axis=(-2, -1)) & jnp.all(
        jnp.diagonal(lower, axis1=-2, axis2=-1) > 0, axis=-1)
    return jnp.where(ok[..., None, None], factor, 0.0), ok
  positive = (covariances > 0) & jnp.isfinite(covariances)
  factor = jax.lax.rsqrt(jnp.where(positive, covariances, 1.0))
  if covariance_type == 'spherical':
    return jnp.where(positive, factor, 0.0), positive
  ok = jnp.all(positive, axis=-1)
  return jnp.where(ok[:, None], factor, 0.0), ok


def _factor_diagonal(prec_chol: jax.Array, covariance_type: str) -> jax.Array:
  if covariance_type in ('full', 'tied'):
    return jnp.diagonal(prec_chol, axis1=-2, axis2=-1)
  return prec_chol


def well_defined(prec_chol: jax.Array, *, covariance_type: str) -> jax.Array:
  """[K] (a scalar for 'tied'): whether each component's precision factor is usable."""
  diagonal = _factor_diagonal(prec_chol, covariance_type)
  return diagonal > 0 if covariance_type == 'spherical' else jnp.all(diagonal > 0, axis=-1)


def log_det_cholesky(prec_chol: jax.Array, *, covariance_type: str,
                     num_features: int) -> jax.Array:
  """log det P per component ([K]; a scalar for 'tied'), which is -log det(cov) / 2."""
  logs = jnp.log(_factor_diagonal(prec_chol, covariance_type))
  return num_features * logs if covariance_type == 'spherical' else jnp.sum(logs, axis=-1)


def log_gaussian_prob(x: jax.Array, means: jax.Array, prec_chol: jax.Array, *,
                      covariance_type: str) -> jax.Array:
  """log N(x_n | mu_k, cov_k) for every point and component: [N, K]."""
  num_features = x.shape[-1]
  if covariance_type == 'tied':  # one factor: project once, then difference
    y = (x @ prec_chol)[:, None, :] - (means @ prec_chol)[None]
    mahalanobis = jnp.sum(jnp.square(y), axis=-1)
  elif covariance_type == 'full':
    # One [N, D] @ [D, D] product per component, in a loop over K: XLA:CPU lowered the
    # batched einsum over [N, K, D] to several transposed copies of that array, and was
    # slower in the E-step (benchmarks/gmm_sklearn.py measures it).
    def one_component(mean_and_factor):
      mean, factor = mean_and_factor
      return jnp.sum(jnp.square((x - mean) @ factor), axis=-1)  # centred first

    mahalanobis = jax.lax.map(one_component, (means, prec_chol)).T
  else:
    dx = x[:, None, :] - means[None]  # centred first: no cancellation in float32
    factor = prec_chol[None] if covariance_type == 'diag' else prec_chol[None, :, None]
    mahalanobis = jnp.sum(jnp.square(dx * factor), axis=-1)
  log_det = log_det_cholesky(prec_chol, covariance_type=covariance_type,
                             num_features=num_features)
  return -0.5 * (num_features * math.log(2 * math.pi) + mahalanobis) + log_det


def log_joint(params, x: jax.Array, *, covariance_type: str) -> jax.Array:
  """log p(x_n, z_n = k): [N, K]."""
  return jnp.log(params['weights'])[None] + log_gaussian_prob(
      x, params['means'], params['precisions_cholesky'], covariance_type=covariance_type)


def log_responsibilities(params, x: jax.Array, *, covariance_type: str
                         ) -> tuple[jax.Array, jax.Array]:
  """(log p(x_n) [N], log p(z_n = k | x_n) [N, K]), normalised by logsumexp."""
  joint = log_joint(params, x, covariance_type=covariance_type)
  log_norm = jax.nn.logsumexp(joint, axis=-1)
  return log_norm, joint - log_norm[:, None]


def log_likelihood(params, x: jax.Array, *, covariance_type: str) -> jax.Array:
  """log p(x_n) per point: [N]. Its mean is scikit-learn's `score`."""
  return jax.nn.logsumexp(log_joint(params, x, covariance_type=covariance_type), axis=-1)


def num_parameters(*, num_components: int, num_features: int, covariance_type: str) -> int:
  """Free parameters, counted as scikit-learn's `_n_parameters` counts them."""
  k, d = num_components, num_features
  covariance = {'full': k * d * (d + 1) // 2, 'tied': d * (d + 1) // 2, 'diag': k * d,
                'spherical': k}[covariance_type]
  return covariance + k * d + k - 1


def _deviance_and_parameters(params, x: jax.Array, covariance_type: str):
  k, d = params['means'].shape
  p = num_parameters(num_components=k, num_features=d, covariance_type=covariance_type)
  return -2.0 * jnp.sum(log_likelihood(params, x, covariance_type=covariance_type)), p


def bic(params, x: jax.Array, *, covariance_type: str) -> jax.Array:
  """The Bayesian information criterion on `x` (lower is better), as scikit-learn's."""
  deviance, p = _deviance_and_parameters(params, x, covariance_type)
  return deviance + p * math.log(x.shape[0])


def aic(params, x: jax.Array, *, covariance_type: str) -> jax.Array:
  """Akaike's information criterion on `x` (lower is better), as scikit-learn's."""
  deviance, p = _deviance_and_parameters(params, x, covariance_type)
  return deviance + 2.0 * p


def sample(rng: jax.Array, params, num_samples: int, *, covariance_type: str
           ) -> tuple[jax.Array, jax.Array]:
  """(x [n, D], component labels [n]) drawn from the mixture."""
  label_rng, noise_rng = jax.random.split(rng)
  means, prec_chol = params['means'], params['precisions_cholesky']
  labels = jax.random.categorical(label_rng, jnp.log(params['weights']), shape=(num_samples,))
  z = jax.random.normal(noise_rng, (num_samples, means.shape[-1]), means.dtype)
  if covariance_type in ('full', 'tied'):
    # x - mu = P^-T z has covariance (P P^T)^-1.
    factor = prec_chol[labels] if covariance_type == 'full' else jnp.broadcast_to(
        prec_chol, (num_samples,) + prec_chol.shape)
    offset = solve_triangular(jnp.swapaxes(factor, -1, -2), z[..., None], lower=True)[..., 0]
  elif covariance_type == 'diag':
    offset = z / prec_chol[labels]
  else:
    offset = z / prec_chol[labels][:, None]
  return means[labels] + offset, labels
