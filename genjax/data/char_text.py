"""What a character-level language model reads: a vocabulary of characters and windows.

Text is a sequence of character ids. The train stream draws windows of T consecutive
characters at start offsets uniform over the training text, as a pure function of
(seed, step), so batches are host-sharded and resumable like every other stream (and
like nanoGPT's `get_batch`, which draws its offsets the same way). The held-out text is
cut into fixed, non-overlapping windows of T for `padded_eval_batches`.

Characters seen fewer than `min_count` times in the text the vocabulary is built from
share id 0, the unknown symbol, so a corpus with a long tail of rare symbols keeps a
small softmax (gcide: 97 characters, 89 of them seen 100 times or more).
"""

from __future__ import annotations

import collections
import dataclasses

import numpy as np

from genjax.data.arrays import StepStream, local_slice
from genjax.data.sources import DataError

UNKNOWN = '\ufffd'  # id 0: every character rarer than min_count, or never seen


@dataclasses.dataclass(frozen=True, eq=False)
class CharVocabulary:
  """Characters in id order: UNKNOWN first, then the kept ones by code point.

  Attributes:
    chars: the string of every id's character; chars[0] is UNKNOWN.
  """
  chars: str

  def __len__(self) -> int:
    return len(self.chars)

  @property
  def _table(self) -> np.ndarray:
    # code point -> id, for encoding a long text in one NumPy gather.
    points = np.frombuffer(self.chars[1:].encode('utf-32-le'), np.uint32)
    table = np.zeros(int(points.max(initial=0)) + 1, np.int32)
    table[points] = np.arange(1, len(self.chars), dtype=np.int32)
    return table

  def encode(self, text: str) -> np.ndarray:
    """Ids of `text`'s characters: uint8 [len(text)] when the vocabulary fits in a byte
    (a 40M-character corpus then takes 40 MB), else int32; unknown characters are 0."""
    points = np.frombuffer(text.encode('utf-32-le'), np.uint32)
    table = self._table
    ids = np.where(points < len(table), table[np.minimum(points, len(table) - 1)], 0)
    return ids.astype(np.uint8 if len(self) <= 256 else np.int32)

  def decode(self, ids) -> str:
    return ''.join(self.chars[i] for i in np.asarray(ids).reshape(-1))


@dataclasses.dataclass(frozen=True, eq=False)
class HeldOut:
  """Held-out text as a character model reads it: the vocabulary and the windows [n, T]."""
  vocabulary: CharVocabulary
  windows: np.ndarray


def build_char_vocabulary(text: str, *, min_count: int = 1) -> CharVocabulary:
  """The characters of `text` seen at least `min_count` times, after UNKNOWN."""
  counts = collections.Counter(text)
  kept = sorted(c for c, n in counts.items() if n >= min_count and c != UNKNOWN)
  return CharVocabulary(UNKNOWN + ''.join(kept))


def check_length(num_chars: int, context: int, what: str) -> None:
  """One line naming the fix when `what` holds fewer characters than one window."""
  if num_chars < context:
    raise DataError(f'The {what} has {num_chars} characters, fewer than one window of '
                    f'context={context}; use a longer text (--config.data.corpus, '
                    '--config.data.max_chars) or a shorter --config.data.context.')


def eval_windows(ids: np.ndarray, context: int) -> np.ndarray:
  """int32 [n, context]: the held-out ids cut into consecutive non-overlapping windows;
  the last len(ids) % context characters are left out."""
  check_length(len(ids), context, 'held-out text')
  n = len(ids) // context
  return np.asarray(ids[:n * context], np.int32).reshape(n, context)


class CharWindowStream(StepStream):
  """Random windows of a token sequence; `batch(step)` is this host's share of batch `step`.

  Global batch `step` holds `global_batch_size` windows {'tokens': int32 [b, context]}
  starting at offsets drawn uniformly from 0..N-context with the key (seed, step); each
  host takes its rows of that global batch. `num_examples` is N, the training characters,
  so an epoch (for durations in epochs) is N windows: each offset drawn once on average,
  each character seen `context` times.

  Args:
    ids: int [N] character ids, the training text.
    context: T, characters per window.
    global_batch_size: windows per step over all hosts.
    seed: keys every draw.
    process_index: this host's index in 0..process_count-1.
    process_count: the number of hosts; it must divide `global_batch_size`.
  """

  def __init__(self, ids: np.ndarray, *, context: int, global_batch_size: int, seed: int,
               process_index: int = 0, process_count: int = 1):
    check_length(len(ids), context, 'training text')
    self.num_examples = len(ids)
    self.global_batch_size = global_batch_size
    self.context = context
    self.host_rows = local_slice(global_batch_size, process_index, process_count)
    self._ids = ids
    self._seed = seed

  def starts(self, step: int) -> np.ndarray:
    """Offsets of every window of global batch `step`, all hosts' rows."""
    rng = np.random.default_rng([self._seed, step])
    return rng.integers(0, self.num_examples - self.context + 1, self.global_batch_size)

  def batch(self, step: int) -> dict[str, np.ndarray]:
    starts = self.starts(step)[self.host_rows]
    return {'tokens': self._ids[starts[:, None] + np.arange(self.context)].astype(np.int32)}
