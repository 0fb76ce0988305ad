"""Skip-gram data: vocabulary order, word2vec's pair distribution, noise, subsampling.

The distribution tests run for both samplers: the host's NumPy draws and the draws the
step makes on the device (`genjax.data.skipgram_device`)."""

import functools

import numpy as np
import pytest
from scipy import stats

from genjax.data import (SkipGramStream, build_vocabulary, keep_probability, padded_eval_batches,
                         skipgram_eval_pairs)
from genjax.data.skipgram_device import SAMPLERS, DeviceSkipGramStream
from genjax.data.text import AliasTable, pairs_per_epoch


def _stream(tokens, vocab_size=None, counts=None, sampler='host', **kwargs):
  vocab_size = vocab_size or int(tokens.max()) + 1
  counts = np.bincount(tokens, minlength=vocab_size) if counts is None else counts
  kwargs = {'window': 4, 'num_negatives': 3, 'global_batch_size': 8, 'seed': 0, **kwargs}
  make = DeviceSkipGramStream if sampler == 'device' else SkipGramStream
  return make(tokens, vocab_size=vocab_size, counts=counts, **kwargs)


def _chi2_of_pairs_by_offset(center, offset, n, w):
  """chi^2 and its degrees of freedom of (center, offset) cells against word2vec's weights
  over a sequence of n: (w - |d| + 1) where i + d is inside, else 0 (asserted empty)."""
  i, d = np.meshgrid(np.arange(n), np.concatenate([np.arange(-w, 0), np.arange(1, w + 1)]),
                     indexing='ij')
  weight = np.where((i + d >= 0) & (i + d < n), w - np.abs(d) + 1, 0).astype(float)
  cells = (i * 100 + d).ravel()
  observed = np.array([np.sum(center * 100 + offset == c) for c in cells])
  expected = weight.ravel() / weight.sum() * len(center)
  assert observed[expected == 0].sum() == 0
  assert observed.sum() == len(center)  # every pair within the window
  chi2 = np.sum((observed - expected)[expected > 0] ** 2 / expected[expected > 0])
  return chi2, np.sum(expected > 0) - 1


def test_vocabulary_orders_by_count_then_alphabet_and_drops_unknown_words():
  text = 'b a c a b d b e e'.split()
  vocab = build_vocabulary(text)
  assert vocab.words == ('b', 'a', 'e', 'c', 'd')
  assert vocab.counts.dtype == np.int64 and list(vocab.counts) == [3, 2, 2, 1, 1]
  assert vocab.index == {'b': 0, 'a': 1, 'e': 2, 'c': 3, 'd': 4}
  ids = vocab.encode(['a', 'zzz', 'b', 'd'])
  assert ids.dtype == np.int32 and list(ids) == [1, 0, 4]
  assert build_vocabulary(text, min_count=2).words == ('b', 'a', 'e')
  assert build_vocabulary(text, max_size=2).words == ('b', 'a')
  assert build_vocabulary(text, min_count=2).encode(['c', 'd']).shape == (0,)


@pytest.mark.parametrize('sampler', SAMPLERS)
def test_pairs_follow_word2vecs_distribution_including_the_ends(sampler):
  # Tokens are their own positions, so context - center is the offset. word2vec trains
  # on pair (i, i+d) with weight (w - |d| + 1) when i+d is inside the corpus, else 0.
  n, w = 12, 4
  stream = _stream(np.arange(n), window=w, global_batch_size=4000, sampler=sampler)
  center = np.concatenate([stream.pairs(s)['center'] for s in range(5)])
  offset = np.concatenate([stream.pairs(s)['context'] for s in range(5)]) - center
  chi2, dof = _chi2_of_pairs_by_offset(center, offset, n, w)
  assert chi2 < stats.chi2.ppf(0.999, dof), (chi2, dof)


@pytest.mark.parametrize('sampler', SAMPLERS)
def test_subsampled_windows_reach_past_the_dropped_words(sampler):
  # Every word occurs once (tokens are positions) but the counts make the even ones
  # frequent: kept with probability 0.2 each epoch. Within an epoch both ends of every
  # pair are kept words, and the pairs follow word2vec's distribution over the kept
  # sequence: offsets counted in kept words, exact at its ends.
  n, w = 60, 4
  counts = np.where(np.arange(n) % 2 == 0, 500, 1)
  ratio = ((np.sqrt(1.8) - 1) / 2) ** 2  # sqrt(r) + r = 0.2: word2vec.c keeps 0.2
  t = ratio * 500 / counts.sum()
  keep = keep_probability(counts, t)
  assert abs(keep[0] - 0.2) < 0.01 and keep[1] == 1.0
  stream = _stream(np.arange(n), counts=counts, window=w, global_batch_size=4000,
                   subsample=t, epoch_pairs=10**6, sampler=sampler)
  kept = stream.corpus(0)
  rank = np.full(n, -1)
  rank[kept] = np.arange(len(kept))
  center = np.concatenate([stream.pairs(s)['center'] for s in range(4)])
  context = np.concatenate([stream.pairs(s)['context'] for s in range(4)])
  assert np.all(rank[center] >= 0) and np.all(rank[context] >= 0)
  chi2, dof = _chi2_of_pairs_by_offset(rank[center], rank[context] - rank[center],
                                       len(kept), w)
  assert chi2 < stats.chi2.ppf(0.999, dof), (chi2, dof)
  assert not np.array_equal(stream.corpus(1), kept)  # a new mask each epoch


def test_negatives_follow_the_three_quarter_power_of_the_counts():
  counts = np.array([50, 20, 10, 5, 0, 1])
  tokens = np.repeat(np.arange(6), counts)
  stream = _stream(tokens, counts=counts, num_negatives=4, global_batch_size=1000)
  negatives = stream.batch(0)['negatives']
  assert negatives.shape == (1000, 4) and negatives.dtype == np.int32
  freq = np.bincount(negatives.ravel(), minlength=6) / negatives.size
  p = counts ** 0.75 / np.sum(counts ** 0.75)
  # 4000 draws: each frequency has a standard deviation below 0.008; 0.03 is ~4 of them,
  # and the plain unigram (exponent 1) is 0.09 away, so a wrong exponent fails.
  assert np.max(np.abs(freq - p)) < 0.03
  assert np.max(np.abs(counts / counts.sum() - p)) > 0.08
  assert freq[4] == 0


@pytest.mark.parametrize('sampler', SAMPLERS)
def test_batches_are_a_function_of_seed_and_step(sampler):
  tokens = np.random.default_rng(0).integers(0, 20, 500)
  a, b = (_stream(tokens, subsample=0.01, sampler=sampler) for _ in range(2))
  for step in (3, 0, 200, 3):  # 8 pairs a step, 500 a epoch: step 200 is in epoch 3
    for key, value in a.pairs(step).items():
      np.testing.assert_array_equal(value, b.pairs(step)[key])
  for key in ('center', 'context', 'negatives'):
    assert not np.array_equal(a.pairs(0)[key], a.pairs(1)[key])
  stacked = a.stacked(5, 3)
  if sampler == 'host':
    assert stacked['negatives'].shape == (3, 8, 3)
    np.testing.assert_array_equal(stacked['center'][1], a.pairs(6)['center'])
  else:  # the step reads only its position and epoch, and draws the pairs itself
    np.testing.assert_array_equal(stacked['position'], np.repeat([[5], [6], [7]], 8, 1))
    assert a.batch(200)['epoch'].tolist() == [3] * 8


@pytest.mark.parametrize('subsample,sampler', [(0.0, 'host'), (0.01, 'host'), (0.01, 'device')])
def test_hosts_concatenate_to_the_one_host_batch(subsample, sampler):
  tokens = np.random.default_rng(0).integers(0, 20, 500)
  whole = _stream(tokens, subsample=subsample, sampler=sampler).pairs(70)
  parts = [_stream(tokens, subsample=subsample, process_index=i, process_count=2,
                   sampler=sampler).pairs(70) for i in range(2)]
  assert parts[0]['center'].shape == (4,)
  for key in whole:
    np.testing.assert_array_equal(np.concatenate([p[key] for p in parts]), whole[key])


def test_keep_probability_is_mikolovs_formula():
  t = 0.05  # frequencies 0.6, 0.3, 0.1
  np.testing.assert_allclose(keep_probability(np.array([60, 30, 10]), t),
                             [np.sqrt(t / 0.6) + t / 0.6, np.sqrt(t / 0.3) + t / 0.3, 1.0])


@pytest.mark.parametrize('sampler', SAMPLERS)
def test_subsampling_keeps_frequent_words_less_often_near_the_formula(sampler):
  counts = np.array([6000, 3000, 1000])
  tokens = np.random.default_rng(2).permutation(np.repeat(np.arange(3), counts))
  stream = _stream(tokens, subsample=0.05, global_batch_size=4000, sampler=sampler)
  keep = keep_probability(counts, 0.05)  # about 0.37, 0.58, 1
  for epoch in range(2):
    kept = np.bincount(stream.corpus(epoch), minlength=3) / counts
    np.testing.assert_allclose(kept, keep, atol=0.03)  # sd of each fraction < 0.01
  assert not np.array_equal(stream.corpus(0), stream.corpus(1))
  center = np.bincount(stream.pairs(0)['center'], minlength=3) / 4000
  np.testing.assert_allclose(center, counts * keep / np.sum(counts * keep), atol=0.03)
  if sampler == 'host':  # the device's plain centers: the test of the ends above
    plain = np.bincount(_stream(tokens, global_batch_size=4000).batch(0)['center'],
                        minlength=3)
    np.testing.assert_allclose(plain / 4000, counts / counts.sum(), atol=0.03)


def test_eval_pairs_are_fixed_within_the_window_and_pad_for_evaluation():
  tokens = np.arange(50)
  pairs = skipgram_eval_pairs(tokens, window=3, num_pairs=25, seed=7)
  again = skipgram_eval_pairs(tokens, window=3, num_pairs=25, seed=7)
  np.testing.assert_array_equal(pairs['context'], again['context'])
  offset = pairs['context'] - pairs['center']
  assert pairs['center'].dtype == np.int32 and np.all((np.abs(offset) >= 1) & (np.abs(offset) <= 3))
  batches = list(padded_eval_batches(pairs, global_batch_size=10))
  assert [b['mask'].sum() for b in batches] == [10, 10, 5]


@pytest.mark.parametrize('sampler', SAMPLERS)
def test_user_errors_name_the_values_and_the_fix(sampler):
  make = functools.partial(_stream, sampler=sampler)
  with pytest.raises(ValueError, match='outside the vocabulary 0..4'):
    make(np.array([0, 5]), vocab_size=5, counts=np.ones(5))
  with pytest.raises(ValueError, match='1-D integer array of at least 2'):
    make(np.array([1]))
  with pytest.raises(ValueError, match='counts must be 5'):
    make(np.array([0, 1]), vocab_size=5, counts=np.ones(4))
  with pytest.raises(ValueError, match='does not divide over 3 hosts'):
    make(np.arange(10), process_count=3)
  with pytest.raises(ValueError, match='Subsampling (left|keeps about)'):
    make(np.zeros(10, int), vocab_size=2, counts=np.array([10, 0]), subsample=1e-6).pairs(0)


@pytest.mark.parametrize('sampler', SAMPLERS)
def test_negatives_fit_the_noise_distribution_by_chi_squared(sampler):
  # Zipf-like counts over 200 words, 100,000 draws at a fixed seed.
  counts = (1000 / np.arange(1, 201)).astype(int) + 1
  tokens = np.repeat(np.arange(200), counts)
  negatives = _stream(tokens, counts=counts, num_negatives=20, global_batch_size=5000,
                      sampler=sampler).pairs(3)['negatives'].ravel()
  expected = counts ** 0.75 / np.sum(counts ** 0.75) * negatives.size
  observed = np.bincount(negatives, minlength=200)
  chi2 = np.sum((observed - expected) ** 2 / expected)
  assert chi2 < stats.chi2.ppf(0.999, 199), chi2
  unigram = counts / counts.sum() * negatives.size  # the exponent matters
  assert np.sum((observed - unigram) ** 2 / unigram) > stats.chi2.ppf(0.999999, 199)


def test_alias_table_draws_exactly_its_distribution():
  p = np.array([0.5, 0.0, 0.2, 0.25, 0.05])
  table = AliasTable(p)
  # Each column's own mass plus the mass aliased to it is p, exactly.
  mass = table.threshold / len(p)
  np.add.at(mass, table.alias, (1 - table.threshold) / len(p))
  np.testing.assert_allclose(mass, p, atol=1e-12)
  draws = table.draw(np.random.default_rng(0), 50000)
  assert np.all(draws != 1)
  np.testing.assert_allclose(np.bincount(draws, minlength=5) / 50000, p, atol=0.01)


def test_paper_subsampling_keeps_sqrt_t_over_f():
  t = 0.05
  np.testing.assert_allclose(keep_probability(np.array([60, 30, 10]), t, 'paper'),
                             [np.sqrt(t / 0.6), np.sqrt(t / 0.3), np.sqrt(t / 0.1)])
  with pytest.raises(ValueError, match="use one of \\('c', 'paper'\\)"):
    keep_probability(np.array([1]), t, 'gensim')


@pytest.mark.parametrize('sampler', SAMPLERS)
def test_an_epoch_is_word2vecs_pairs_in_one_pass(sampler):
  # word2vec.c's loop: each kept word, a window r uniform in 1..w, both sides' words.
  rng = np.random.default_rng(3)
  n, w = 2000, 5
  emitted = [sum(min(r, i) + min(r, n - 1 - i)
                 for i, r in enumerate(rng.integers(1, w + 1, n))) for _ in range(20)]
  expected = pairs_per_epoch(np.array([n]), w)
  assert expected == n * (w + 1)
  assert abs(np.mean(emitted) - expected) < 0.005 * expected  # ends cost about 0.3%
  keep = np.array([0.5, 1.0])
  assert pairs_per_epoch(np.array([100, 10]), 2, keep) == 180
  stream = _stream(np.arange(12), window=2, global_batch_size=4, epoch_pairs=36,
                   sampler=sampler)
  assert stream.num_examples == 36 and stream.epoch(8) == 0 and stream.epoch(9) == 1
