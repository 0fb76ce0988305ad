"""The device sampler's pieces as math: integer draws and comparisons exact to 2^-32, bits
that are a function of the position alone, and a batch that cannot be drawn flagged, not
looped on. Its distributions are tested beside the host's in test_text.py."""

import jax
import jax.numpy as jnp
import numpy as np

from genjax.data import skipgram_device as device


def test_below_is_the_high_word_of_bits_times_n():
  rng = np.random.default_rng(0)
  bits = np.concatenate([rng.integers(0, 2**32, 20000, dtype=np.uint64),
                         np.array([0, 2**31, 2**32 - 1], np.uint64)])
  below = jax.jit(device.below, static_argnums=1)
  for n in (1, 3, 46333, 65536, 65537, 5_096_339, 2**31 - 1):
    want = (bits * np.uint64(n)) >> np.uint64(32)  # exact: bits * n < 2^63
    got = np.asarray(below(jnp.asarray(bits.astype(np.uint32)), n))
    np.testing.assert_array_equal(got.astype(np.uint64), want)


def test_accept_is_exact_at_zero_and_one():
  t = device.thresholds(np.array([0.0, 0.5, 1.0, 1 - 1e-12]))
  np.testing.assert_array_equal(t, [0, 2**31, 2**32 - 1, 2**32 - 1])
  bits = jnp.asarray([0, 2**31 - 1, 2**31, 2**32 - 1], jnp.uint32)
  accepted = np.asarray(jax.vmap(device.accept, (None, 0))(bits, jnp.asarray(t)))
  np.testing.assert_array_equal(accepted, [[False] * 4, [True, True, False, False],
                                           [True] * 4, [True] * 4])


def test_position_bits_depend_on_the_position_alone():
  key = jax.random.key(3)
  whole = np.asarray(device.position_bits(key, jnp.arange(1000)))
  some = np.asarray(device.position_bits(key, jnp.asarray([[999, 5], [0, 123]])))
  np.testing.assert_array_equal(some, whole[[[999, 5], [0, 123]]])
  assert len(np.unique(whole)) == 1000
  other = np.asarray(device.position_bits(jax.random.key(4), jnp.arange(1000)))
  assert np.mean(other == whole) < 0.01
  # Uniform: each of 8 equal ranges of uint32 holds about an eighth.
  assert np.all(np.abs(np.bincount(whole >> 29, minlength=8) - 125) < 45)


def test_a_text_that_keeps_nothing_returns_an_invalid_batch():
  tokens, counts = np.arange(20) % 4, np.full(4, 5)
  tables = device.device_tables(tokens, counts, window=2, subsample=0.1,
                                subsample_formula='c')
  tables['keep'] = np.zeros(4, np.uint32)  # no occurrence is ever kept
  draw = jax.jit(lambda t: device.draw_pairs(
      t, jnp.int32(0), jnp.int32(0), seed=0, batch_size=8, window=2, num_negatives=2,
      subsample=True, kept=0.5))
  out = draw(tables)
  assert not bool(out['valid'])  # after MAX_ROUNDS rounds, not an endless loop
  tables['keep'] = device.thresholds(np.ones(4))
  out = draw(tables)
  assert bool(out['valid']) and out['negatives'].shape == (8, 2)
