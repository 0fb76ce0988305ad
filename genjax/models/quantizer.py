"""Vector quantisation: the nearest code, the straight-through estimator, the VQ losses, the
EMA codebook, dead-code restarts and codebook health. Pure functions of arrays.

van den Oord et al. (2017), "Neural Discrete Representation Learning": z_q(x) is the
codebook entry nearest to the encoder output z_e(x); the decoder's gradient is copied to
z_e (straight through); the codebook loss ||sg[z_e] - e||^2 moves the codes and the
commitment loss beta ||z_e - sg[e]||^2 moves the encoder. Appendix A.1's EMA variant
replaces the codebook loss by exponential moving averages of each code's assignment count
and of the sum of its assigned vectors, with Laplace-smoothed counts (sonnet's
`VectorQuantizerEMA`). Dead codes (lucidrains' vector-quantize-pytorch) are re-seeded from
encoder outputs of the batch when their EMA count falls below a threshold.

The batch is one global array under `jit` on the mesh, so the one-hot sums below are
already summed across devices (big_vision's `psum` of the counts, done by XLA).

Everything here is float32 at full precision whatever the network's compute dtype: the
distances to the codebook, the EMA statistics and the VQ losses.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp

from genjax.models import kmeans

LAPLACE_EPS = 1e-5  # sonnet's epsilon: counts + eps keep a code that no input picks finite


def nearest_codes(z: jax.Array, codebook: jax.Array) -> jax.Array:
  """The index of the nearest code by squared distance: z [..., D] -> int32 [...]."""
  flat = z.reshape(-1, z.shape[-1])
  return kmeans.nearest(flat, codebook).astype(jnp.int32).reshape(z.shape[:-1])


def lookup(codes: jax.Array, codebook: jax.Array) -> jax.Array:
  """Codes int [...] -> their vectors [..., D]."""
  return jnp.take(codebook, codes, axis=0)


def straight_through(z: jax.Array, z_q: jax.Array) -> jax.Array:
  """Forward: exactly z_q. Backward: dL/dz = dL/dz_q, nothing to the codebook.

  Written sg(z_q) + (z - sg(z)) rather than z + sg(z_q - z): z - z is exactly zero, so the
  forward value is the code itself to the last bit.
  """
  return jax.lax.stop_gradient(z_q) + (z - jax.lax.stop_gradient(z))


class Quantized(NamedTuple):
  codes: jax.Array  # int32 [...]
  z_q: jax.Array  # [..., D], the chosen codes, differentiable in the codebook
  z_st: jax.Array  # [..., D], the chosen codes with the straight-through gradient to z_e


def quantize(z: jax.Array, codebook: jax.Array) -> Quantized:
  codes = nearest_codes(jax.lax.stop_gradient(z), codebook)
  z_q = lookup(codes, codebook)
  return Quantized(codes, z_q, straight_through(z, jax.lax.stop_gradient(z_q)))


def _per_example_sum(x: jax.Array) -> jax.Array:
  return jnp.sum(x.reshape(x.shape[0], -1), axis=-1)


def codebook_loss(z: jax.Array, z_q: jax.Array) -> jax.Array:
  """||sg[z_e] - e||^2 per example [B], summed over the code grid: moves only the codes.

  `z_q` must carry the gradient to the codebook (`lookup(codes, codebook)`).
  """
  return _per_example_sum(jnp.square(jax.lax.stop_gradient(z) - z_q))


def commitment_loss(z: jax.Array, z_q: jax.Array) -> jax.Array:
  """||z_e - sg[e]||^2 per example [B] (times beta by the caller): moves only the encoder."""
  return _per_example_sum(jnp.square(z - jax.lax.stop_gradient(z_q)))


def code_counts(codes: jax.Array, num_codes: int) -> jax.Array:
  """How often each code is chosen in each example: int codes [B, ...] -> [B, K]."""
  one_hot = jax.nn.one_hot(codes.reshape(codes.shape[0], -1), num_codes, dtype=jnp.float32)
  return jnp.sum(one_hot, axis=1)


def perplexity(counts: jax.Array) -> jax.Array:
  """exp(entropy of the mean one-hot): counts [K] (any scale) -> a value in [1, K].

  K when every code is used equally often, 1 when one code takes every input. It is the
  effective number of codes in use, and it grows with the number of inputs counted (a
  batch of 64 positions cannot show more than 64), so compare values over equal counts.
  """
  p = counts / jnp.maximum(jnp.sum(counts), 1e-12)
  entropy = -jnp.sum(jnp.where(p > 0, p * jnp.log(jnp.where(p > 0, p, 1.0)), 0.0))
  return jnp.exp(entropy)


def used_fraction(counts: jax.Array) -> jax.Array:
  """The fraction of codes chosen at least once: counts [K] -> a value in [0, 1]."""
  return jnp.mean((counts > 0).astype(jnp.float32))


class EMACodebook(NamedTuple):
  """The EMA variant's statistics: a model state, checkpointed and resumed with the run."""
  codebook: jax.Array  # [K, D]
  counts: jax.Array  # [K], EMA of each code's assignment count
  sums: jax.Array  # [K, D], EMA of the sum of the vectors assigned to each code


def ema_init(codebook: jax.Array) -> EMACodebook:
  """Each code starts as one virtual input at its own position, so that the first steps
  average it with its inputs instead of dividing a tiny count (no debiasing needed)."""
  k = codebook.shape[0]
  return EMACodebook(codebook, jnp.ones((k,), codebook.dtype), codebook)


def ema_update(state: EMACodebook, z: jax.Array, codes: jax.Array, decay: float,
               eps: float = LAPLACE_EPS) -> EMACodebook:
  """One EMA step from inputs z [..., D] assigned to codes [...].

  counts <- decay counts + (1 - decay) n_k; sums <- decay sums + (1 - decay) sum_{i->k} z_i;
  codebook = sums / counts, the counts Laplace-smoothed ((n_k + eps) / (n + K eps) n) so
  that a code no input picks keeps a finite position. With decay 0 over a whole dataset
  this is one Lloyd step of k-means.
  """
  k, d = state.codebook.shape
  flat = jax.lax.stop_gradient(z).reshape(-1, d)
  one_hot = jax.nn.one_hot(codes.reshape(-1), k, dtype=flat.dtype)
  counts = decay * state.counts + (1.0 - decay) * jnp.sum(one_hot, axis=0)
  # Full float32: the sums of many vectors, which a bfloat16 pass would round.
  assigned = jnp.matmul(one_hot.T, flat, precision=jax.lax.Precision.HIGHEST)
  sums = decay * state.sums + (1.0 - decay) * assigned
  n = jnp.sum(counts)
  smoothed = (counts + eps) / (n + k * eps) * n
  return EMACodebook(sums / smoothed[:, None], counts, sums)


def restart_dead_codes(rng: jax.Array, state: EMACodebook, z: jax.Array,
                       threshold: float) -> tuple[EMACodebook, jax.Array]:
  """Codes whose EMA count is below `threshold` move to encoder outputs of the batch.

  Each dead code takes a different input (drawn without replacement when the batch has
  at least K of them), and starts with count `threshold`, so a code that still takes no
  input is moved again at the next step. Returns the state and how many codes moved.
  """
  k, d = state.codebook.shape
  flat = jax.lax.stop_gradient(z).reshape(-1, d)
  pick = jax.random.choice(rng, flat.shape[0], (k,), replace=flat.shape[0] < k)
  fresh = flat[pick]
  dead = state.counts < threshold
  counts = jnp.where(dead, jnp.asarray(threshold, state.counts.dtype), state.counts)
  codebook = jnp.where(dead[:, None], fresh, state.codebook)
  sums = jnp.where(dead[:, None], fresh * counts[:, None], state.sums)
  return EMACodebook(codebook, counts, sums), jnp.sum(dead.astype(jnp.int32))


def kmeans_codebook(rng: jax.Array, z: jax.Array, num_codes: int, *,
                    max_iter: int = 20) -> jax.Array:
  """A codebook [K, D] from k-means on encoder outputs z [..., D] (lucidrains' kmeans_init);
  with fewer inputs than codes, the inputs repeat with a little noise."""
  flat = z.reshape(-1, z.shape[-1])
  if flat.shape[0] < num_codes:
    reps = -(-num_codes // flat.shape[0])
    flat = jnp.tile(flat, (reps, 1))[:num_codes]
    noise = 1e-3 * (jnp.std(flat) + 1e-3)  # distinct codes even from identical inputs
    flat = flat + noise * jax.random.normal(rng, flat.shape, flat.dtype)
  return kmeans.kmeans(rng, flat, num_codes, max_iter=max_iter)
