"""What word2vec's skip-gram with negative sampling reads: a vocabulary and pair batches.

References: Mikolov et al., "Efficient Estimation of Word Representations in Vector
Space" (2013) and "Distributed Representations of Words and Phrases and their
Compositionality" (NeurIPS 2013), and the word2vec C code that both describe.

The C code reads the corpus in order; here every batch is drawn afresh, as a pure
function of (seed, step), from the distribution of the pairs that code trains on, so
batches are host-sharded and resumable like every other stream. `skipgram_device` draws
the same pairs inside the compiled step instead.
"""

from __future__ import annotations

import collections
import dataclasses
from typing import Iterable, Sequence

import numpy as np

from genjax.data.arrays import StepStream, local_slice

NOISE_POWER = 0.75  # the unigram distribution raised to 3/4, as in the paper
_PAIRS, _NEGATIVES, _SUBSAMPLE = 0, 1, 2  # keys the draws of one step apart


@dataclasses.dataclass(frozen=True, eq=False)
class Vocabulary:
  """Words by count, most frequent first (ties alphabetically); a word's id is its rank.

  Attributes:
    words: the words, in id order.
    counts: int64 [V], how often each word occurred in the text it was built from.
    index: word -> id.
  """
  words: tuple[str, ...]
  counts: np.ndarray
  index: dict[str, int]

  def __len__(self) -> int:
    return len(self.words)

  def encode(self, words: Iterable[str]) -> np.ndarray:
    """int32 ids of `words`, leaving out those not in the vocabulary."""
    return np.asarray([self.index[w] for w in words if w in self.index], np.int32)


def build_vocabulary(words: Sequence[str], *, min_count: int = 1,
                     max_size: int = 0) -> Vocabulary:
  """The words occurring at least `min_count` times, at most `max_size` of them if positive."""
  counter = collections.Counter(words)
  kept = sorted((w for w, c in counter.items() if c >= min_count),
                key=lambda w: (-counter[w], w))
  if max_size:
    kept = kept[:max_size]
  return Vocabulary(tuple(kept), np.asarray([counter[w] for w in kept], np.int64),
                    {w: i for i, w in enumerate(kept)})


def noise_distribution(counts: np.ndarray) -> np.ndarray:
  """Probabilities of drawing each word as a negative: counts^0.75, normalised."""
  weights = np.asarray(counts, np.float64) ** NOISE_POWER
  return weights / weights.sum()


SUBSAMPLE_FORMULAS = ('c', 'paper')


class AliasTable:
  """Exact draws from a categorical distribution in O(1) each (Walker's alias method).

  `rng.choice(V, n, p=p)` re-checks and re-sums p at every call and `searchsorted` on an
  inverse CDF misses the cache once per draw: for a 46k-word vocabulary they took 12 and
  8 ms for one batch's 20k negatives, this takes under 1 ms. word2vec.c's alternative, a
  table of 1e8 word ids, is exact only to 1e-8 and 400 MB.

  Args:
    p: probabilities [V], non-negative with a positive sum (normalised here).
  """

  def __init__(self, p: np.ndarray):
    p = np.asarray(p, np.float64)
    n = len(p)
    scaled = p / p.sum() * n
    self.threshold = np.ones(n)  # column i: i with this probability, else alias[i]
    self.alias = np.arange(n)
    small = [i for i in range(n) if scaled[i] < 1.0]
    large = [i for i in range(n) if scaled[i] >= 1.0]
    while small and large:
      s, l = small.pop(), large.pop()
      self.threshold[s], self.alias[s] = scaled[s], l
      scaled[l] -= 1.0 - scaled[s]
      (small if scaled[l] < 1.0 else large).append(l)

  def draw(self, rng: np.random.Generator, shape) -> np.ndarray:
    """int64 draws of `shape`."""
    column = rng.integers(0, len(self.alias), shape)
    return np.where(rng.random(shape) < self.threshold[column], column, self.alias[column])


def keep_probability(counts: np.ndarray, threshold: float, formula: str = 'c') -> np.ndarray:
  """Probability that subsampling keeps one occurrence of each word.

  word2vec.c (formula 'c', gensim's too) keeps a word of corpus frequency f with
  probability sqrt(t/f) + t/f; the paper ('paper') writes the discard probability
  1 - sqrt(t/f), i.e. keeps with sqrt(t/f). Both are capped at 1, so words rarer than
  about t are always kept.
  """
  if formula not in SUBSAMPLE_FORMULAS:
    raise ValueError(f"Unknown subsampling formula {formula!r}; use one of "
                     f"{SUBSAMPLE_FORMULAS}.")
  counts = np.asarray(counts, np.float64)
  ratio = threshold * counts.sum() / np.maximum(counts, 1)  # t / f; unseen words: kept
  keep = np.sqrt(ratio) + ratio if formula == 'c' else np.sqrt(ratio)
  return np.minimum(keep, 1.0)


def pairs_per_epoch(counts: np.ndarray, window: int, keep: np.ndarray | None = None) -> int:
  """How many pairs word2vec trains on in one pass over the text, in expectation.

  Each kept word is a center; its reduced window r is uniform in 1..window, giving 2r
  contexts, so (window + 1) pairs per kept word on average (a few fewer at the ends).
  """
  kept = np.asarray(counts, np.float64) * (1.0 if keep is None else keep)
  return max(1, int(round(kept.sum() * (window + 1))))


def sample_pairs(rng: np.random.Generator, length: int, window: int,
                 size: int) -> tuple[np.ndarray, np.ndarray]:
  """Positions (center, context) of `size` skip-gram pairs in a sequence of `length`.

  word2vec visits every position i, draws a reduced window r uniform in 1..window and
  trains on every offset d with 1 <= |d| <= r that stays inside the sequence. Pair
  (i, i+d) is therefore trained on with probability P(r >= |d|) = (window-|d|+1)/window,
  and drawing one pair of that stream means: a center uniform over the sequence, a
  distance |d| with probability proportional to window-|d|+1, a sign uniform, and, when
  i+d falls outside the sequence, the whole pair (center and offset) drawn again. The
  redraw makes this exact at the ends too, where word2vec emits fewer pairs per center.
  (One offset uniform in ±r for a uniform r would weight distances by sum_{r>=|d|} 1/r
  instead, favouring near words more than word2vec does.)

  Args:
    rng: the source of every draw.
    length: the sequence length, at least 2.
    window: the largest distance between the words of a pair.
    size: how many pairs.

  Returns:
    int64 center and context positions, each [size].
  """
  distances = AliasTable(window + 1 - np.arange(1, window + 1))
  center, context = np.empty(size, np.int64), np.empty(size, np.int64)
  todo = np.arange(size)
  while todo.size:
    c = rng.integers(0, length, todo.size)
    d = (1 + distances.draw(rng, todo.size)) * (2 * rng.integers(0, 2, todo.size) - 1)
    inside = (c + d >= 0) & (c + d < length)
    center[todo[inside]], context[todo[inside]] = c[inside], (c + d)[inside]
    todo = todo[~inside]
  return center, context


def check_tokens(tokens: np.ndarray, vocab_size: int | None = None) -> np.ndarray:
  """`tokens` as a 1-D integer array of at least 2 ids, in range when vocab_size is given."""
  tokens = np.asarray(tokens)
  if tokens.ndim != 1 or not np.issubdtype(tokens.dtype, np.integer) or len(tokens) < 2:
    raise ValueError(f'Tokens must be a 1-D integer array of at least 2 ids, not '
                     f'{tokens.dtype} {tokens.shape}; encode the text with '
                     'Vocabulary.encode.')
  if vocab_size is not None and (tokens.min() < 0 or tokens.max() >= vocab_size):
    raise ValueError(f'Token ids span {tokens.min()}..{tokens.max()}, outside the '
                     f'vocabulary 0..{vocab_size - 1}; encode with the same vocabulary.')
  return tokens


class SkipGramStream(StepStream):
  """Skip-gram pairs with negatives; `batch(step)` is this host's share of batch `step`.

  Every draw is made for the whole global batch, keyed by (seed, step), and then
  sliced by host. Negatives are drawn from counts^0.75 independently of the pair, so
  one may equal the context word; word2vec skips such a negative, and a loss can do the
  same with `negatives == context`.

  With `subsample` = t > 0 each occurrence is kept with `keep_probability(counts, t,
  subsample_formula)` once per epoch (key (seed, epoch)), and the pairs of that epoch
  are drawn from the surviving words, so windows reach past the dropped ones as in
  word2vec. An epoch is `num_examples` pairs (`epoch_pairs`, or len(tokens) when 0;
  word2vec's own pass over the text is `pairs_per_epoch`); batch `step` belongs to epoch
  step * global_batch_size // num_examples.

  Args:
    tokens: int [N] word ids, the corpus read as one sequence.
    vocab_size: V; every id lies in 0..V-1.
    counts: [V] word counts for the noise distribution and for subsampling.
    window: the largest distance between center and context.
    num_negatives: K, negatives per pair.
    global_batch_size: pairs per step over all hosts.
    seed: keys every draw.
    process_index: this host's index in 0..process_count-1.
    process_count: the number of hosts; it must divide `global_batch_size`.
    subsample: Mikolov's threshold t (1e-5 for large corpora), or 0 to keep every word.
    subsample_formula: 'c' (word2vec.c and gensim) or 'paper'; see `keep_probability`.
    epoch_pairs: pairs per epoch; 0 means len(tokens).
  """

  def __init__(self, tokens: np.ndarray, *, vocab_size: int, counts: np.ndarray,
               window: int, num_negatives: int, global_batch_size: int, seed: int,
               process_index: int = 0, process_count: int = 1, subsample: float = 0.0,
               subsample_formula: str = 'c', epoch_pairs: int = 0):
    self._tokens = check_tokens(tokens, vocab_size)
    counts = np.asarray(counts)
    if counts.shape != (vocab_size,) or (counts < 0).any() or counts.sum() <= 0:
      raise ValueError(f'counts must be {vocab_size} non-negative numbers, not all 0; got '
                       f'shape {counts.shape}; pass the Vocabulary.counts of the vocabulary.')
    if window < 1 or num_negatives < 0 or subsample < 0:
      raise ValueError(f'window={window}, num_negatives={num_negatives} and '
                       f'subsample={subsample} must be >= 1, >= 0 and >= 0.')
    self.num_examples = epoch_pairs or len(self._tokens)
    self.global_batch_size = global_batch_size
    self.host_rows = local_slice(global_batch_size, process_index, process_count)
    self.vocab_size, self.window, self.num_negatives = vocab_size, window, num_negatives
    self._seed = seed
    self._noise = AliasTable(noise_distribution(counts))
    self._keep = (keep_probability(counts, subsample, subsample_formula) if subsample
                  else None)
    self._epoch, self._corpus = None, None

  def epoch(self, step: int) -> int:
    return step * self.global_batch_size // self.num_examples

  def corpus(self, epoch: int) -> np.ndarray:
    """The token ids the pairs of `epoch` are drawn from."""
    if self._keep is None:
      return self._tokens
    if epoch != self._epoch:
      u = np.random.default_rng([self._seed, _SUBSAMPLE, epoch]).random(len(self._tokens))
      corpus = self._tokens[u < self._keep[self._tokens]]
      if len(corpus) < 2:
        raise ValueError(f'Subsampling left {len(corpus)} words of {len(self._tokens)} in '
                         f'epoch {epoch}; lower the subsample threshold or use more text.')
      self._epoch, self._corpus = epoch, corpus
    return self._corpus

  def batch(self, step: int) -> dict[str, np.ndarray]:
    corpus = self.corpus(self.epoch(step))
    b, rows = self.global_batch_size, self.host_rows
    center, context = sample_pairs(np.random.default_rng([self._seed, _PAIRS, step]),
                                   len(corpus), self.window, b)
    negatives = self._noise.draw(np.random.default_rng([self._seed, _NEGATIVES, step]),
                                 (b, self.num_negatives))
    return {'center': corpus[center[rows]].astype(np.int32),
            'context': corpus[context[rows]].astype(np.int32),
            'negatives': negatives[rows].astype(np.int32)}

  def pairs(self, step: int) -> dict[str, np.ndarray]:
    """This host's pairs of batch `step`, as NumPy: `batch`'s here; a stream whose step
    draws its pairs (`skipgram_device`) draws them as the step would."""
    return self.batch(step)


def skipgram_eval_pairs(tokens: np.ndarray, *, window: int, num_pairs: int,
                        seed: int) -> dict[str, np.ndarray]:
  """Fixed (center, context) pairs of held-out tokens, drawn as `sample_pairs` draws them.

  Nothing is subsampled, so the pairs measure the text as written. Pass the result to
  `padded_eval_batches`.

  Returns:
    {'center': int32 [num_pairs], 'context': int32 [num_pairs]}.
  """
  tokens = check_tokens(tokens)
  center, context = sample_pairs(np.random.default_rng(seed), len(tokens), window, num_pairs)
  return {'center': tokens[center].astype(np.int32),
          'context': tokens[context].astype(np.int32)}
