"""Character text: the vocabulary round trip and its unknown symbol, train windows as a
pure, host-sharded function of (seed, step), held-out windows, and refusals."""

import numpy as np
import pytest

from genjax.data.char_text import (UNKNOWN, CharWindowStream, build_char_vocabulary,
                                   check_length, eval_windows)
from genjax.data.sources import DataError


def test_the_vocabulary_round_trips_the_text_it_was_built_from():
  text = 'The cat sat.\n\tOn the mat, "twice"!'
  vocab = build_char_vocabulary(text)
  assert vocab.chars[0] == UNKNOWN and sorted(vocab.chars[1:]) == sorted(set(text))
  ids = vocab.encode(text)
  assert ids.dtype == np.uint8 and len(ids) == len(text)
  assert vocab.decode(ids) == text


def test_rare_and_unseen_characters_share_the_unknown_symbol():
  vocab = build_char_vocabulary('aaab bbc', min_count=2)  # 'c' and ' ' once each
  assert vocab.chars == UNKNOWN + 'ab'
  np.testing.assert_array_equal(vocab.encode('abcé z'), [1, 2, 0, 0, 0, 0])
  assert vocab.decode(vocab.encode('ca')) == UNKNOWN + 'a'


def _stream(ids, **kw):
  return CharWindowStream(ids, **{'context': 8, 'global_batch_size': 6, 'seed': 3, **kw})


def test_windows_are_slices_of_the_text_at_uniform_offsets():
  ids = np.arange(100, dtype=np.int32)  # a window of consecutive ids is a slice
  stream = _stream(ids)
  batch = stream.batch(5)['tokens']
  assert batch.dtype == np.int32 and batch.shape == (6, 8)
  np.testing.assert_array_equal(batch, batch[:, :1] + np.arange(8))
  np.testing.assert_array_equal(batch[:, 0], stream.starts(5))
  short = _stream(np.arange(10, dtype=np.int32))  # offsets 0, 1, 2: each one reached
  starts = np.concatenate([short.starts(s) for s in range(20)])
  assert set(starts) == {0, 1, 2}
  assert stream.num_examples == 100


def test_the_same_seed_and_step_give_the_same_batch():
  ids = np.random.default_rng(0).integers(0, 50, 1000).astype(np.uint8)
  a, b = _stream(ids), _stream(ids)
  np.testing.assert_array_equal(a.batch(7)['tokens'], b.batch(7)['tokens'])
  assert not np.array_equal(a.batch(7)['tokens'], a.batch(8)['tokens'])
  assert not np.array_equal(a.batch(7)['tokens'], _stream(ids, seed=4).batch(7)['tokens'])


def test_hosts_hold_the_rows_of_the_global_batch():
  ids = np.random.default_rng(1).integers(0, 50, 1000).astype(np.uint8)
  whole = _stream(ids).batch(2)['tokens']
  parts = [_stream(ids, process_index=i, process_count=3).batch(2)['tokens']
           for i in range(3)]
  np.testing.assert_array_equal(np.concatenate(parts), whole)


def test_held_out_windows_cut_the_text_in_order():
  ids = np.arange(30, dtype=np.uint8)
  windows = eval_windows(ids, 8)
  assert windows.shape == (3, 8) and windows.dtype == np.int32
  np.testing.assert_array_equal(windows.reshape(-1), ids[:24])


def test_a_text_shorter_than_one_window_is_refused_in_one_line():
  with pytest.raises(DataError, match=r'training text has 7 characters, fewer than one '
                                      r'window of context=8.*--config.data.context'):
    _stream(np.zeros(7, np.uint8))
  with pytest.raises(DataError, match='held-out text has 3 characters'):
    eval_windows(np.zeros(3, np.uint8), 8)
  check_length(8, 8, 'text')  # exactly one window is enough
