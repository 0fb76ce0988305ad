"""Vector quantisation: nearest codes, straight through, the VQ losses, EMA, restarts.

Each check runs one jitted program on NumPy inputs and compares with NumPy, so that the
file compiles a handful of programs rather than one per primitive.
"""

import chex
import jax
import jax.numpy as jnp
import numpy as np

from genjax.models import kmeans
from genjax.models import quantizer as vq

K, D = 5, 3


def _codebook_and_inputs():
  rng = np.random.default_rng(0)
  codebook = rng.normal(size=(K, D)).astype(np.float32)
  z = rng.normal(size=(2, 2, 2, D)).astype(np.float32)
  return codebook, z


def test_forward_is_the_nearest_code_to_the_last_bit():
  codebook, z = _codebook_and_inputs()
  q = jax.device_get(jax.jit(vq.quantize)(z, codebook))
  flat = z.astype(np.float64).reshape(-1, D)
  brute = np.argmin(((flat[:, None] - codebook.astype(np.float64)[None]) ** 2).sum(-1), -1)
  np.testing.assert_array_equal(q.codes.reshape(-1), brute)
  assert len(set(brute)) > 1  # the check sees more than one code
  np.testing.assert_array_equal(q.z_st, codebook[q.codes])
  np.testing.assert_array_equal(q.z_q, codebook[q.codes])


def test_straight_through_copies_the_gradient_and_gives_none_to_the_codebook():
  codebook, z = _codebook_and_inputs()
  weights = np.linspace(-1.0, 1.0, z.size, dtype=np.float32).reshape(z.shape)

  def nonlinear(v):
    return jnp.sum(jnp.sin(v) * weights + v**3)

  @jax.jit
  def grads(z, codebook):
    dz, dc = jax.grad(lambda z, c: nonlinear(vq.quantize(z, c).z_st), argnums=(0, 1))(
        z, codebook)
    return dz, dc, jax.grad(nonlinear)(vq.lookup(vq.nearest_codes(z, codebook), codebook))

  dz, dcodebook, dz_q = jax.device_get(grads(z, codebook))
  chex.assert_trees_all_close(dz, dz_q, rtol=1e-6)
  assert np.abs(dz).min() > 0
  np.testing.assert_array_equal(dcodebook, 0.0)


def test_codebook_loss_moves_only_codes_and_commitment_only_the_encoder():
  codebook, z = _codebook_and_inputs()

  @jax.jit
  def grads(z, codebook):
    codes = vq.nearest_codes(z, codebook)
    def total(loss, z, c):
      return jnp.sum(loss(z, vq.lookup(codes, c)))
    return (codes,
            jax.grad(lambda z, c: total(vq.codebook_loss, z, c), argnums=(0, 1))(z, codebook),
            jax.grad(lambda z, c: total(vq.commitment_loss, z, c), argnums=(0, 1))(z, codebook))

  codes, (dz_book, dc_book), (dz_commit, dc_commit) = jax.device_get(grads(z, codebook))
  np.testing.assert_array_equal(dz_book, 0.0)
  np.testing.assert_array_equal(dc_commit, 0.0)
  # d/de_k sum_{i->k} ||z_i - e_k||^2 = 2 sum_{i->k} (e_k - z_i); unchosen codes get 0.
  one_hot = np.eye(K)[codes.reshape(-1)]
  expected = 2.0 * (one_hot.sum(0)[:, None] * codebook - one_hot.T @ z.reshape(-1, D))
  np.testing.assert_allclose(dc_book, expected, rtol=1e-5, atol=1e-6)
  assert np.abs(dc_book).max() > 0
  np.testing.assert_allclose(dz_commit, 2.0 * (z - codebook[codes]), rtol=1e-6)
  np.testing.assert_allclose(jax.jit(vq.codebook_loss)(z, codebook[codes]),
                             np.sum((z - codebook[codes]) ** 2, axis=(1, 2, 3)), rtol=1e-6)


def test_ema_with_decay_zero_over_the_batch_is_one_lloyd_step():
  rng = np.random.default_rng(1)
  centres = np.array([[4.0, 0.0], [-4.0, 0.0], [0.0, 4.0]], np.float32)
  x = (rng.normal(size=(3, 10, 2)) + centres[:, None]).reshape(30, 2).astype(np.float32)
  c0 = 0.75 * centres

  @jax.jit
  def both(x, c0):
    codes = vq.nearest_codes(x, c0)
    return codes, vq.ema_update(vq.ema_init(c0), x, codes, decay=0.0), \
        kmeans.lloyd(x, c0, max_iter=1, tol=0.0)

  codes, state, lloyd = jax.device_get(both(x, c0))
  n = np.bincount(codes, minlength=3)
  assert np.all(n > 0)  # every code has points
  np.testing.assert_array_equal(state.counts, n)
  # 1e-5 Laplace smoothing shifts the mean by a relative ~K eps / n.
  np.testing.assert_allclose(state.codebook, lloyd, rtol=1e-4, atol=1e-6)
  np.testing.assert_allclose(state.codebook, np.eye(3)[codes].T @ x / n[:, None], rtol=1e-4)


def test_ema_keeps_an_unchosen_code_finite_and_decays_its_count():
  c0 = np.array([[0.0, 0.0], [10.0, 10.0]], np.float32)
  x = np.array([[0.1, 0.0], [-0.1, 0.2]], np.float32)
  state = jax.device_get(jax.jit(lambda x, c: vq.ema_update(
      vq.ema_init(c), x, vq.nearest_codes(x, c), decay=0.9))(x, c0))
  np.testing.assert_allclose(state.counts, [0.9 + 0.1 * 2, 0.9], rtol=1e-6)
  np.testing.assert_allclose(state.sums[0], 0.1 * x.sum(0), atol=1e-7)
  assert np.all(np.isfinite(state.codebook))
  # Only its statistics decay, so sums / counts stays where the code was.
  np.testing.assert_allclose(state.codebook[1], [10.0, 10.0], rtol=1e-4)


def test_perplexity_lies_between_one_and_k():
  counts = np.array([[3.0, 3.0, 3.0, 3.0, 3.0, 3.0],  # uniform: K
                     [0.0, 7.0, 0.0, 0.0, 0.0, 0.0],  # one code: 1
                     [5.0, 1.0, 0.0, 2.0, 9.0, 3.0]], np.float32)
  health = jax.jit(jax.vmap(lambda c: (vq.perplexity(c), vq.used_fraction(c))))
  ppl, used = jax.device_get(health(counts))
  np.testing.assert_allclose(ppl[0], 6.0, rtol=1e-6)
  assert ppl[1] == 1.0
  p = counts[2].astype(np.float64) / counts[2].sum()
  p = p[p > 0]
  np.testing.assert_allclose(ppl[2], np.exp(-np.sum(p * np.log(p))), rtol=1e-5)
  assert 1.0 < ppl[2] < 6.0
  np.testing.assert_allclose(used, [1.0, 1 / 6, 5 / 6], rtol=1e-6)


def test_code_counts_counts_each_example():
  codes = np.array([[[0, 2], [2, 2]], [[1, 1], [1, 4]]])
  np.testing.assert_array_equal(vq.code_counts(codes, 5), [[1, 0, 3, 0, 0], [0, 3, 0, 0, 1]])


def _restart(threshold, codebook, counts, z, seed):
  @jax.jit
  def run(codebook, counts, z):
    state = vq.EMACodebook(codebook, counts, 2.0 * codebook)
    new, moved = vq.restart_dead_codes(jax.random.PRNGKey(seed), state, z, threshold)
    return state, new, moved, vq.nearest_codes(z, codebook), vq.nearest_codes(z, new.codebook)
  return jax.device_get(run(codebook, counts, z))


def test_restart_revives_a_dead_code_with_a_batch_input():
  z = np.array([[0.0, 0.0], [0.2, 0.1], [1.0, 1.0], [1.1, 0.9], [-1.0, 1.0], [-0.9, 1.2]],
               np.float32)
  codebook = np.array([[0.1, 0.05], [1.05, 0.95], [-0.95, 1.1], [50.0, -50.0]], np.float32)
  counts = np.array([2.0, 2.0, 2.0, 0.01], np.float32)
  state, new, moved, before, after = _restart(0.5, codebook, counts, z, seed=3)
  assert np.all(before != 3)  # no input selects the dead code
  assert moved == 1
  taken = np.flatnonzero(np.all(z == new.codebook[3], axis=-1))
  assert len(taken) == 1  # it is exactly one of the batch's inputs
  assert new.counts[3] == 0.5
  np.testing.assert_array_equal(new.sums[3], 0.5 * new.codebook[3])
  for field in ('codebook', 'counts', 'sums'):
    np.testing.assert_array_equal(getattr(new, field)[:3], getattr(state, field)[:3])
  assert after[taken[0]] == 3


def test_restarted_codes_take_different_inputs():
  z = np.random.default_rng(2).normal(size=(8, 2)).astype(np.float32)
  codebook = np.full((4, 2), 100.0, np.float32)
  _, new, moved, _, _ = _restart(1.0, codebook, np.array([0.0, 0.0, 0.0, 5.0], np.float32),
                                 z, seed=5)
  assert moved == 3
  revived = {tuple(row) for row in new.codebook[:3]}
  assert len(revived) == 3
  assert revived <= {tuple(row) for row in z}
  np.testing.assert_array_equal(new.codebook[3], codebook[3])


def test_kmeans_codebook_with_fewer_inputs_than_codes_has_distinct_codes():
  z = np.array([[[0.5, -1.0, 2.0]], [[1.5, 0.0, -2.0]]], np.float32)  # two inputs, 5 codes
  codebook = np.asarray(jax.jit(vq.kmeans_codebook, static_argnums=2, static_argnames='max_iter')(
      jax.random.PRNGKey(6), z, 5, max_iter=3), np.float64)
  assert codebook.shape == (5, 3)
  assert np.all(np.isfinite(codebook))
  d2 = ((codebook[:, None] - codebook[None]) ** 2).sum(-1)
  assert np.min(d2[~np.eye(5, dtype=bool)]) > 0
  # Each code is one of the inputs up to the small noise, and both inputs are used.
  to_inputs = ((codebook[:, None] - z.reshape(2, 3)[None]) ** 2).sum(-1)
  assert np.all(to_inputs.min(-1) < 1e-3)
  assert set(to_inputs.argmin(-1)) == {0, 1}
