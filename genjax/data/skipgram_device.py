"""Skip-gram pairs drawn inside the compiled step, from the token ids held on the device.

`text.SkipGramStream` draws each step's pairs on the host and the loop ships them to the
device; `DeviceSkipGramStream` ships only the step's data position and epoch, and
`draw_pairs` draws the pairs inside the step with `jax.random`, from the same distribution:

- subsampling: in epoch e, the occurrence at position i is kept when a uniform keyed by
  (seed, e, i) falls below `keep_probability` of its word: each occurrence independently,
  once per epoch, as the host's per-epoch mask;
- the pair: a center uniform over the kept positions (candidates uniform over the text,
  the first kept ones taken), a distance with weight window - d + 1 and a sign, both by
  alias tables, the context the d-th kept word on that side, and the whole pair drawn
  again when the text ends first, as `text.sample_pairs` does;
- negatives: counts^0.75 by Walker's alias table (`text.AliasTable`), on the device.

Probabilities are compared as 32-bit integers (`accept`), exact to 2^-32 (a probability of
1 always accepts and 0 never does), and a uniform column of n is the high word of 32 bits
times n (`below`), each within n / 2^32 of 1/n relatively. Every draw is a pure function of (seed, position,
epoch) and is made for the whole global batch on every device, so the pairs are bitwise
the same on any number of devices and hosts. The rejection loops are bounded
(`MAX_ROUNDS`): a batch still short after them (a text that keeps almost nothing) comes
back with `valid` false, which the family turns into a non-finite loss that stops the run.
"""

from __future__ import annotations

import functools
import math

import jax
import jax.numpy as jnp
import numpy as np
from jax.extend.random import threefry_2x32

from genjax.data import text

SAMPLERS = ('host', 'device')  # where a word2vec run draws its pairs
MAX_ROUNDS = 64  # redraws of a batch's unfinished rows before it is flagged invalid
_FULL = np.uint32(0xFFFFFFFF)
_PAIRS, _NEGATIVES, _SUBSAMPLE = 0, 1, 2  # keys the draws of one step apart


def thresholds(p: np.ndarray) -> np.ndarray:
  """uint32 thresholds of probabilities in [0, 1], for `accept`."""
  p = np.asarray(p, np.float64)
  return np.where(p >= 1.0, float(_FULL), np.floor(p * 2.0 ** 32)).astype(np.uint32)


def accept(bits: jax.Array, threshold: jax.Array) -> jax.Array:
  """True with probability threshold / 2^32 for uniform uint32 bits; always at _FULL."""
  return (bits < threshold) | (threshold == _FULL)


def below(bits: jax.Array, n: int) -> jax.Array:
  """int32 in 0..n-1 from uniform uint32 bits: floor(bits * n / 2^32), the high word of a
  32x32-bit product in 16-bit halves. Each value's probability is within n / 2^32 of 1/n
  (relatively); one Threefry word a draw, where `jax.random.randint` takes two."""
  n_high, n_low = jnp.uint32(n >> 16), jnp.uint32(n & 0xFFFF)
  high, low = bits >> 16, bits & 0xFFFF
  middle_a, middle_b = high * n_low, low * n_high
  carry = ((low * n_low) >> 16) + (middle_a & 0xFFFF) + (middle_b & 0xFFFF)
  return (high * n_high + (middle_a >> 16) + (middle_b >> 16) + (carry >> 16)).astype(jnp.int32)


def alias_draw(bits: jax.Array, threshold: jax.Array, alias: jax.Array) -> jax.Array:
  """int32 draws from an alias table (`text.AliasTable`'s, thresholds as `thresholds`),
  one per pair of uniform uint32 words: bits [2, ...] (the column's, then the accept's)."""
  column = below(bits[0], threshold.shape[0])
  return jnp.where(accept(bits[1], threshold[column]), column, alias[column])


def first_true(mask: jax.Array, size: int, fill: int) -> jax.Array:
  """The indices of the first `size` True entries of a 1-D mask, in order, `fill` after
  them: `jnp.nonzero(mask, size=size, fill_value=fill)[0]`, which compiles slower."""
  rank = jnp.cumsum(mask, dtype=jnp.int32) - 1
  slot = jnp.where(mask & (rank < size), rank, size)
  return jnp.full((size,), fill, jnp.int32).at[slot].set(
      jnp.arange(mask.shape[0], dtype=jnp.int32), mode='drop')


def position_bits(key: jax.Array, positions: jax.Array) -> jax.Array:
  """Uniform uint32 bits per position, a pure function of (key, position): one Threefry
  block (position, 0) each, so a position's bits do not depend on the array it is in."""
  p = positions.astype(jnp.uint32).reshape(-1)
  bits = threefry_2x32(jax.random.key_data(key), jnp.concatenate([p, jnp.zeros_like(p)]))
  return bits[:p.shape[0]].reshape(positions.shape)


def device_tables(tokens: np.ndarray, counts: np.ndarray, *, window: int, subsample: float,
                  subsample_formula: str) -> dict[str, np.ndarray]:
  """What `draw_pairs` reads: the token ids and the thresholds of subsampling, of the
  distance's alias table and of the noise's (the step's replicated `frozen` argument)."""
  keep = (text.keep_probability(counts, subsample, subsample_formula) if subsample
          else np.ones(len(counts)))
  noise = text.AliasTable(text.noise_distribution(counts))
  distance = text.AliasTable(window + 1 - np.arange(1, window + 1))
  return {'tokens': np.asarray(tokens, np.int32), 'keep': thresholds(keep),
          'noise_threshold': thresholds(noise.threshold),
          'noise_alias': noise.alias.astype(np.int32),
          'distance_threshold': thresholds(distance.threshold),
          'distance_alias': distance.alias.astype(np.int32)}


def epoch_key(seed: int, epoch) -> jax.Array:
  """The key of an epoch's subsampling: one keep decision per position, all epoch long."""
  return jax.random.fold_in(jax.random.fold_in(jax.random.key(seed), _SUBSAMPLE), epoch)


def kept_fraction(tokens: np.ndarray, keep: np.ndarray | None) -> float:
  """The expected share of the text subsampling keeps (1 without subsampling)."""
  return 1.0 if keep is None else float(np.mean(keep[tokens]))


def draw_pairs(tables, position: jax.Array, epoch: jax.Array, *, seed: int,
               batch_size: int, window: int, num_negatives: int, subsample: bool,
               kept: float) -> dict[str, jax.Array]:
  """The global batch of pairs at data `position` in `epoch`, drawn on the device.

  Args:
    tables: `device_tables`' arrays (as jax arrays under jit).
    position, epoch: int32 scalars, the batch's data position and its epoch.
    seed: the run's seed.
    batch_size: pairs in the global batch.
    window: the largest distance.
    num_negatives: K.
    subsample: whether any word is subsampled (False: every position is kept).
    kept: `kept_fraction`, which sizes the candidates of each round (not the result).

  Returns:
    int32 'center' [B], 'context' [B], 'negatives' [B, K] (word ids) and the bool scalar
    'valid' (False only when MAX_ROUNDS rounds left rows undrawn).
  """
  tokens = tables['tokens']
  n = tokens.shape[0]
  root = jax.random.key(seed)
  keep_key = epoch_key(seed, epoch)
  step_key = jax.random.fold_in(jax.random.fold_in(root, _PAIRS), position)

  def is_kept(positions):
    if not subsample:
      return jnp.ones(positions.shape, bool)
    bits = position_bits(keep_key, positions)
    return accept(bits, tables['keep'][tokens.at[positions].get(mode='promise_in_bounds')])

  b = batch_size
  # Enough candidate centers that a round is rarely short of B kept ones.
  candidates = b if not subsample else math.ceil((b + 4 * math.sqrt(b) + 4) / kept)
  # Positions searched at once for a context: about window + 2 kept words, so most
  # windows end within one span and the rest go on in small slices.
  span = window if not subsample else max(window, math.ceil(window / kept) + 2)

  def context_of(center, sign, distance):
    """The distance-th kept position from center on sign's side; status 1 found, 2 the
    text ended first."""
    offsets = jnp.arange(1, span + 1, dtype=jnp.int32)

    def search(carry):
      start, sign, remaining, found, status = carry
      at = start[:, None] + sign[:, None] * offsets
      inside = (at >= 0) & (at < n)
      hits = inside & is_kept(jnp.clip(at, 0, n - 1))
      count = jnp.cumsum(hits, axis=1, dtype=jnp.int32)
      target = hits & (count == remaining[:, None])
      got = target.any(axis=1)
      where = jnp.take_along_axis(at, jnp.argmax(target, axis=1)[:, None], 1)[:, 0]
      searching = status == 0
      status = jnp.where(searching, jnp.where(got, 1, jnp.where(inside[:, -1], 0, 2)), status)
      found = jnp.where(searching & got, where, found)
      remaining = jnp.where(searching, remaining - count[:, -1], remaining)
      return start + sign * span, sign, remaining, found, status

    zeros = jnp.zeros_like(center)
    carry = search((center, sign, distance, zeros, zeros))
    if subsample:  # without it, one span of `window` always decides
      # The few rows whose window reaches past one span go on alone, a slice at a time.
      few = max(1, b // 32)

      def search_few(carry):
        rows = first_true(carry[4] == 0, few, b)
        part = search(tuple(x.at[rows].get(mode='fill', fill_value=0) for x in carry))
        return tuple(x.at[rows].set(y, mode='drop') for x, y in zip(carry, part))

      carry = jax.lax.while_loop(lambda c: jnp.any(c[4] == 0), search_few, carry)
    return carry[3], carry[4]

  def round_(carry):
    i, center, context, valid = carry
    bits = jax.random.bits(jax.random.fold_in(step_key, i), (candidates + 3 * b,), jnp.uint32)
    pool = below(bits[:candidates], n)
    ok = is_kept(pool)
    picked = first_true(ok, b, 0)
    got_center = jnp.arange(b) < jnp.sum(ok, dtype=jnp.int32)
    new_center = pool[picked]
    per_row = bits[candidates:].reshape(3, b)
    distance = 1 + alias_draw(per_row[:2], tables['distance_threshold'],
                              tables['distance_alias'])
    sign = 1 - 2 * (per_row[2] >> 31).astype(jnp.int32)
    new_context, status = context_of(new_center, sign, distance)
    take = ~valid & got_center & (status == 1)
    return (i + 1, jnp.where(take, new_center, center), jnp.where(take, new_context, context),
            valid | take)

  zeros = jnp.zeros((b,), jnp.int32)
  carry = jax.lax.while_loop(lambda c: (c[0] < MAX_ROUNDS) & ~jnp.all(c[3]), round_,
                             (jnp.int32(0), zeros, zeros, jnp.zeros((b,), bool)))
  _, center, context, valid = carry
  noise_bits = jax.random.bits(
      jax.random.fold_in(jax.random.fold_in(root, _NEGATIVES), position),
      (2, b, num_negatives), jnp.uint32)
  negatives = alias_draw(noise_bits, tables['noise_threshold'], tables['noise_alias'])
  take = lambda p: tokens.at[p].get(mode='promise_in_bounds')
  return {'center': take(center), 'context': take(context), 'negatives': negatives,
          'valid': jnp.all(valid)}


class DeviceSkipGramStream(text.SkipGramStream):
  """A `SkipGramStream` whose pairs are drawn on the device: `batch(step)` is only this
  host's rows of the step's data position and epoch (int32, the same in every row), and
  the step calls `draw` on `tables`, which the family hands the step as `frozen`.

  `pairs(step)` and `corpus(epoch)` draw as the step does, into NumPy, for tests and
  benchmarks. Args: as `SkipGramStream`'s.
  """

  def __init__(self, tokens: np.ndarray, **kwargs):
    super().__init__(tokens, **kwargs)
    counts = np.asarray(kwargs['counts'])
    self._kept = kept_fraction(self._tokens, self._keep)
    if self._kept * len(self._tokens) < 2:
      raise ValueError(f'Subsampling keeps about {self._kept * len(self._tokens):.3g} words '
                       f'of {len(self._tokens)} an epoch; lower the subsample threshold or '
                       'use more text.')
    self.tables = device_tables(self._tokens, counts, window=self.window,
                                subsample=kwargs.get('subsample', 0.0),
                                subsample_formula=kwargs.get('subsample_formula', 'c'))
    self._settings = dict(seed=self._seed, batch_size=self.global_batch_size,
                          window=self.window, num_negatives=self.num_negatives,
                          subsample=self._keep is not None, kept=self._kept)
    self.draw = functools.partial(draw_pairs, **self._settings)
    self._device_tables = None

  def batch(self, step: int) -> dict[str, np.ndarray]:
    rows = self.host_rows.stop - self.host_rows.start
    return {'position': np.full(rows, step, np.int32),
            'epoch': np.full(rows, self.epoch(step), np.int32)}

  def _on_device(self):
    if self._device_tables is None:
      self._device_tables = jax.device_put(self.tables)
    return self._device_tables

  def pairs(self, step: int) -> dict[str, np.ndarray]:
    """This host's rows of the pairs the step draws at `step`, as NumPy."""
    draw = _jitted_draw(*sorted(self._settings.items()))
    out = jax.device_get(draw(self._on_device(), np.int32(step), np.int32(self.epoch(step))))
    if not out.pop('valid'):
      raise ValueError(f'Subsampling left too few words to draw batch {step}; lower the '
                       'subsample threshold or use more text.')
    return {key: value[self.host_rows] for key, value in out.items()}

  def corpus(self, epoch: int) -> np.ndarray:
    """The token ids the device keeps in `epoch`, in order."""
    if self._keep is None:
      return self._tokens
    bits = _jitted_bits(epoch_key(self._seed, epoch),
                        jnp.arange(len(self._tokens), dtype=jnp.int32))
    return self._tokens[np.asarray(accept(bits, self.tables['keep'][self._tokens]))]


_jitted_bits = jax.jit(position_bits)


@functools.lru_cache(maxsize=None)
def _jitted_draw(*settings):
  """`draw_pairs` jitted once per settings, whichever stream asks (hosts of one test)."""
  return jax.jit(functools.partial(draw_pairs, **dict(settings)))
