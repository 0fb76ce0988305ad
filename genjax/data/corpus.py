"""Plain text for the text families: a file read whole, words, and a held-out slice.

The default corpus is Debian's `dict-gcide` (the Collaborative International Dictionary
of English, about 5.4M words): its `gcide.dict.dz` is dictzip, which is gzip with an
index, so it reads like any .gz file. Any other UTF-8 text file (text8, say) works too.

The held-out slice is every `held_out_every`-th block of `block` units (words or
characters), not the corpus's tail: gcide is alphabetical, so its tail is the words in
y and z. Blocks keep the text contiguous inside each one, which a language model's
windows and word2vec's context windows need.
"""

from __future__ import annotations

import gzip
import os
import re

import numpy as np

from genjax.data.sources import DataError
from genjax.errors import UserError

DEBIAN_GCIDE = '/usr/share/dictd/gcide.dict.dz'
_WORD = re.compile(r"[a-z]+")


class CorpusNotFoundError(FileNotFoundError, UserError):
  """The text file is missing; the message says how to get it."""


def corpus_path(name: str) -> str:
  """'gcide' -> Debian's file; anything else is taken as a path."""
  return DEBIAN_GCIDE if name == 'gcide' else name


def read_text(name: str, max_chars: int = 0) -> str:
  """The whole text of corpus `name` ('gcide' or a path; .gz and .dz are decompressed).

  Args:
    name: 'gcide' or the path of a text file.
    max_chars: when positive, only the first `max_chars` characters.
  """
  path = corpus_path(name)
  if not os.path.isfile(path):
    how = ('install Debian\'s dict-gcide (`sudo apt-get install dict-gcide`; setup.sh '
           'does it)' if name == 'gcide' else 'give the path of a UTF-8 text file with '
           '--config.data.corpus')
    raise CorpusNotFoundError(f'No text at {path}; {how}.')
  opener = gzip.open if path.endswith(('.gz', '.dz')) else open
  with opener(path, 'rt', encoding='utf-8', errors='replace') as f:
    text = f.read(max_chars) if max_chars > 0 else f.read()
  if not text.strip():
    raise DataError(f'{path} holds no text; give a file with words in it.')
  return text


def words(text: str) -> list[str]:
  """Lowercase words: the runs of letters a-z after lowercasing (digits and punctuation
  separate words and are dropped, as in text8)."""
  return _WORD.findall(text.lower())


def held_out_mask(length: int, *, block: int, held_out_every: int) -> np.ndarray:
  """bool [length]: True for the units of every `held_out_every`-th block of `block`.

  Block i is held out when i % held_out_every == held_out_every - 1, so a corpus shorter
  than held_out_every blocks holds nothing out; `split` says so in one line.
  """
  if block < 1 or held_out_every < 2:
    raise DataError(f'block={block} and held_out_every={held_out_every} must be >= 1 and '
                    '>= 2.')
  blocks = np.arange(length) // block
  return blocks % held_out_every == held_out_every - 1


def split(units, *, block: int, held_out_every: int):
  """(train, held_out) of a 1-D array or a list of units, by `held_out_mask`.

  Each part is its blocks joined in order (arrays stay arrays, lists stay lists: millions
  of words are far smaller as a list of str than as a NumPy string array); the seams
  between blocks are few (one per block), which the samplers of windows may cross.
  """
  mask = held_out_mask(len(units), block=block, held_out_every=held_out_every)
  if not mask.any() or mask.all():
    raise DataError(f'A corpus of {len(units)} units in blocks of {block}, every '
                    f'{held_out_every}th held out, leaves no held-out text or no training '
                    f'text; use more text or set --config.data.block and '
                    '--config.data.held_out_every lower.')
  if isinstance(units, np.ndarray):
    return units[~mask], units[mask]
  return ([u for u, h in zip(units, mask) if not h], [u for u, h in zip(units, mask) if h])
