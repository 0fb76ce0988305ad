"""Expectation-maximisation for a Gaussian mixture: E-step statistics, the M-step from them,
and the initial parameters, each a pure jnp function.

One EM step is `em_step`: responsibilities at the current params (E), their sufficient
statistics, and the closed-form maximiser (M), with `reg_covar` added to the diagonal of
every covariance. The statistics are sums over points, so under `jit` on a mesh a batch
sharded over devices gives the same statistics: XLA reduces them across devices; and
`expected_statistics` sums them over blocks of rows, one component at a time, which is
what makes a step fast on a CPU. They are taken about reference centres (the current
means), so that the covariance is a small correction of a centred second moment, not a
difference of two large ones, in float32.

At `reg_covar=0` each step does not decrease the mean log-likelihood (Dempster, Laird &
Rubin, 1977). The arithmetic follows scikit-learn's `_estimate_gaussian_parameters` and
`_m_step`, including the 10 eps added to every count.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from genjax.models import gmm
from genjax.models import kmeans as kmeans_lib

INITS = ('kmeans', 'k-means++', 'random', 'random_from_data')
BLOCK_ROWS = 4096  # points per block of the E-step (`expected_statistics`)


def sufficient_statistics(x: jax.Array, resp: jax.Array, centres: jax.Array, *,
                          covariance_type: str) -> dict[str, jax.Array]:
  """Responsibility-weighted moments of x about `centres`.

  Args:
    x: [N, D] points.
    resp: [N, K] responsibilities (each row sums to 1).
    centres: [K, D] reference points, one per component.
    covariance_type: one of `gmm.COVARIANCE_TYPES`.

  Returns:
    n [K] = sum_n r_nk; sx [K, D] = sum_n r_nk (x_n - c_k); sxx, the second moments
    sum_n r_nk (x_n - c_k)(x_n - c_k)^T: [K, D, D] for 'full', summed over k to [D, D]
    for 'tied', and its diagonal [K, D] for 'diag' and 'spherical'.
  """
  outer = covariance_type in ('full', 'tied')

  # One component at a time, as matrix products over the N points of [N, D] arrays: the
  # same sums as broadcasting to [N, K, D], which XLA:CPU copied and transposed several
  # times and reduced over N slowly (benchmarks/gmm_sklearn.py measures both).
  def one_component(resp_and_centre):
    r, centre = resp_and_centre
    dx = x - centre
    sxx = (r[:, None] * dx).T @ dx if outer else r @ jnp.square(dx)
    return r @ dx, sxx

  sx, sxx = jax.lax.map(one_component, (resp.T, centres))
  if covariance_type == 'tied':
    sxx = jnp.sum(sxx, axis=0)
  return {'n': jnp.sum(resp, 0), 'sx': sx, 'sxx': sxx}


def m_step(stats: dict[str, jax.Array], centres: jax.Array, *, reg_covar: float,
           covariance_type: str) -> tuple[dict[str, jax.Array], jax.Array]:
  """The params that maximise the expected complete-data log-likelihood.

  Args:
    stats: `sufficient_statistics` about `centres`.
    centres: [K, D], as given to `sufficient_statistics`.
    reg_covar: added to the diagonal of every covariance.
    covariance_type: one of `gmm.COVARIANCE_TYPES`.

  Returns:
    (params, ok): ok is False when some covariance is not positive definite (a collapsed
    or singleton component); that component's precision factor is then 0.
  """
  nk = stats['n'] + 10 * jnp.finfo(stats['n'].dtype).eps
  shift = stats['sx'] / nk[:, None]  # the new means, relative to the centres
  d = centres.shape[-1]
  if covariance_type == 'full':
    covariances = (stats['sxx'] / nk[:, None, None]
                   - shift[:, :, None] * shift[:, None, :] + reg_covar * jnp.eye(d))
  elif covariance_type == 'tied':
    covariances = ((stats['sxx'] - jnp.einsum('k,kd,ke->de', nk, shift, shift))
                   / jnp.sum(nk) + reg_covar * jnp.eye(d))
  else:
    covariances = stats['sxx'] / nk[:, None] - jnp.square(shift) + reg_covar
    if covariance_type == 'spherical':
      covariances = jnp.mean(covariances, axis=-1)
  prec_chol, ok = gmm.precisions_cholesky(covariances, covariance_type=covariance_type)
  params = {'weights': nk / jnp.sum(nk), 'means': centres + shift,
            'precisions_cholesky': prec_chol}
  return params, jnp.all(ok)


def expected_statistics(params, x: jax.Array, *, covariance_type: str,
                        block_rows: int = BLOCK_ROWS) -> dict[str, jax.Array]:
  """The E-step: `sufficient_statistics` of the responsibilities under `params`, about
  params' means, and `log_likelihood`, the summed log p(x_n).

  Everything is a sum over points, so it is summed over blocks of about `block_rows`
  points in a `lax.scan`: each block is read from memory once for every component and
  stays in cache meanwhile (faster than the whole [N, D] array at once on XLA:CPU;
  benchmarks/gmm_sklearn.py). Block b of B holds rows b, b + B, b + 2B, ..., so that every
  block draws on the whole batch (on a mesh, on every device's rows) rather than on one
  device's part of it; fewer than B rows left over are one more block.
  """
  n = x.shape[0]
  num_blocks = max(1, n // block_rows)
  per_block = n // num_blocks

  def block_statistics(xb):
    log_norm, log_resp = gmm.log_responsibilities(params, xb,
                                                  covariance_type=covariance_type)
    stats = sufficient_statistics(xb, jnp.exp(log_resp), params['means'],
                                  covariance_type=covariance_type)
    return {**stats, 'log_likelihood': jnp.sum(log_norm)}

  def add_block(total, xb):
    return jax.tree.map(jnp.add, total, block_statistics(xb)), None

  blocks = jnp.swapaxes(x[:num_blocks * per_block].reshape(per_block, num_blocks, -1), 0, 1)
  zeros = jax.tree.map(lambda a: jnp.zeros(a.shape, a.dtype),
                       jax.eval_shape(block_statistics, blocks[0]))
  total, _ = jax.lax.scan(add_block, zeros, blocks)
  if num_blocks * per_block < n:  # the fewer than num_blocks rows left over
    total = jax.tree.map(jnp.add, total, block_statistics(x[num_blocks * per_block:]))
  return total


def em_step(params, x: jax.Array, *, reg_covar: float, covariance_type: str,
            block_rows: int = BLOCK_ROWS
            ) -> tuple[dict[str, jax.Array], jax.Array, jax.Array]:
  """One EM iteration on `x` [N, D].

  Returns:
    (new params, the mean log-likelihood of `x` under the *given* params, ok). The mean
    is scikit-learn's per-iteration lower bound; `ok` is as in `m_step`.
  """
  stats = expected_statistics(params, x, covariance_type=covariance_type,
                              block_rows=block_rows)
  new, ok = m_step(stats, params['means'], reg_covar=reg_covar,
                   covariance_type=covariance_type)
  return new, stats['log_likelihood'] / x.shape[0], ok


def initial_responsibilities(rng: jax.Array, x: jax.Array, *, num_components: int,
                             init: str, kmeans_max_iter: int = 300) -> jax.Array:
  """[N, K] responsibilities to start EM from, as scikit-learn's `init_params`.

  'kmeans': hard assignments to k-means clusters; 'k-means++' and 'random_from_data': each
  component owns one point (a k-means++ seed, or a uniform draw without replacement);
  'random': uniform draws, normalised per point.
  """
  n = x.shape[0]
  if init == 'kmeans':
    centres = kmeans_lib.kmeans(rng, x, num_components, max_iter=kmeans_max_iter)
    return jax.nn.one_hot(kmeans_lib.nearest(x, centres), num_components, dtype=x.dtype)
  if init == 'random':
    resp = jax.random.uniform(rng, (n, num_components), x.dtype)
    return resp / jnp.sum(resp, -1, keepdims=True)
  if init == 'k-means++':
    owners = kmeans_lib.kmeans_plusplus(rng, x, num_components)
  elif init == 'random_from_data':
    owners = jax.random.choice(rng, n, (num_components,), replace=False)
  else:
    raise ValueError(f'Unknown init {init!r}; use one of {INITS}.')
  return jnp.zeros((n, num_components), x.dtype).at[owners, jnp.arange(num_components)].set(1)


def params_from_responsibilities(x: jax.Array, resp: jax.Array, *, reg_covar: float,
                                 covariance_type: str):
  """The M-step from given responsibilities (how scikit-learn initialises); (params, ok)."""
  # Centred on the exact weighted means, so that identical points have covariance exactly 0.
  n = jnp.sum(resp, 0)
  centres = resp.T @ x / jnp.where(n > 0, n, 1.0)[:, None]
  stats = sufficient_statistics(x, resp, centres, covariance_type=covariance_type)
  return m_step(stats, centres, reg_covar=reg_covar, covariance_type=covariance_type)
