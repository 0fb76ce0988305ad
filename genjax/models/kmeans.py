"""k-means: greedy k-means++ seeding and Lloyd iterations, in jnp under one jit.

What initialises a Gaussian mixture (`genjax.objectives.gmm.initial_responsibilities`), as
scikit-learn's `KMeans(n_init=1)` does. Departures from scikit-learn: an empty cluster
keeps its centre instead of moving to a far point, and the random draws are JAX's.

Reference: Arthur & Vassilvitskii (2007), k-means++: the advantages of careful seeding;
scikit-learn's `kmeans_plusplus` for the greedy variant with 2 + log k trials per centre.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp


def squared_distances(x: jax.Array, centres: jax.Array) -> jax.Array:
  """||x_n - c_k||^2: [N, K], as one matrix product, at full float32 precision: the three
  terms nearly cancel for a near centre, and accelerators round a default-precision
  float32 product through bfloat16, which would pick the wrong nearest centre."""
  cross = jnp.matmul(x, centres.T, precision=jax.lax.Precision.HIGHEST)
  d2 = (jnp.sum(x * x, -1)[:, None] - 2.0 * cross
        + jnp.sum(centres * centres, -1)[None])
  return jnp.maximum(d2, 0.0)


def nearest(x: jax.Array, centres: jax.Array) -> jax.Array:
  """The index of each point's nearest centre: [N]."""
  return jnp.argmin(squared_distances(x, centres), axis=-1)


def kmeans_plusplus(rng: jax.Array, x: jax.Array, num_clusters: int) -> jax.Array:
  """Indices [K] of k-means++ seeds: each new one the best of 2 + log K draws ∝ D^2."""
  n = x.shape[0]
  trials = 2 + int(math.log(num_clusters))
  first_rng, rng = jax.random.split(rng)
  first = jax.random.randint(first_rng, (), 0, n)
  closest = squared_distances(x, x[first][None])[:, 0]
  indices = jnp.zeros((num_clusters,), jnp.int32).at[0].set(first)

  def add_centre(c, carry):
    indices, closest = carry
    u = jax.random.uniform(jax.random.fold_in(rng, c), (trials,), x.dtype) * jnp.sum(closest)
    candidates = jnp.minimum(jnp.searchsorted(jnp.cumsum(closest), u), n - 1)
    # Each candidate's potential: the summed distance to the nearest seed once it is one.
    to_candidates = jnp.minimum(closest[None], squared_distances(x, x[candidates]).T)
    best = jnp.argmin(jnp.sum(to_candidates, -1))
    return indices.at[c].set(candidates[best]), to_candidates[best]

  indices, _ = jax.lax.fori_loop(1, num_clusters, add_centre, (indices, closest))
  return indices


def lloyd(x: jax.Array, centres: jax.Array, *, max_iter: int, tol: float) -> jax.Array:
  """Lloyd iterations from `centres` until their squared shift is at most `tol` times the
  mean feature variance (scikit-learn's tolerance), or `max_iter` of them."""
  threshold = tol * jnp.mean(jnp.var(x, axis=0))

  def step(carry):
    i, centres, _ = carry
    one_hot = jax.nn.one_hot(nearest(x, centres), centres.shape[0], dtype=x.dtype)
    counts = jnp.sum(one_hot, 0)[:, None]
    moved = jnp.where(counts > 0, one_hot.T @ x / jnp.maximum(counts, 1.0), centres)
    return i + 1, moved, jnp.sum(jnp.square(moved - centres))

  def running(carry):
    i, _, shift = carry
    return (i < max_iter) & (shift > threshold)

  _, centres, _ = jax.lax.while_loop(running, step,
                                     (jnp.int32(0), centres, jnp.asarray(jnp.inf, x.dtype)))
  return centres


def kmeans(rng: jax.Array, x: jax.Array, num_clusters: int, *, max_iter: int = 300,
           tol: float = 1e-4) -> jax.Array:
  """k-means centres [K, D] from k-means++ seeds (scikit-learn's defaults)."""
  seeds = x[kmeans_plusplus(rng, x, num_clusters)]
  return lloyd(x, seeds, max_iter=max_iter, tol=tol)
