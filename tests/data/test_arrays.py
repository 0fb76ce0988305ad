"""ArrayStream and padded_eval_batches: the shuffling rule, host slicing, padding."""

import numpy as np
import pytest

from genjax.data import ArrayStream, DataError, padded_eval_batches


def _arrays(n=25):
  return {'x': np.arange(n * 3, dtype=np.float32).reshape(n, 3), 'y': np.arange(n)}


def test_batches_follow_the_epoch_permutation_and_drop_the_remainder():
  s = ArrayStream(_arrays(25), global_batch_size=10, seed=4)
  assert s.steps_per_epoch == 2  # 25 // 10; the last 5 rows of each order are dropped
  for step in range(6):
    epoch, i = divmod(step, 2)
    order = np.random.default_rng([4, epoch]).permutation(25)
    np.testing.assert_array_equal(s.batch(step)['y'], order[i * 10:(i + 1) * 10])
  np.testing.assert_array_equal(s.batch(3)['x'], _arrays()['x'][s.batch(3)['y']])


def test_batch_is_a_function_of_seed_and_step():
  a, b = (ArrayStream(_arrays(), global_batch_size=5, seed=1) for _ in range(2))
  for step in (9, 0, 13, 0):  # out of order, across epochs
    np.testing.assert_array_equal(a.batch(step)['y'], b.batch(step)['y'])
  assert not np.array_equal(a.batch(0)['y'], a.batch(1)['y'])
  assert not np.array_equal(
      a.batch(0)['y'], ArrayStream(_arrays(), global_batch_size=5, seed=2).batch(0)['y'])


@pytest.mark.parametrize('hosts', [2, 5])
def test_hosts_concatenate_to_the_one_host_batch(hosts):
  whole = ArrayStream(_arrays(), global_batch_size=10, seed=0).stacked(3, 4)
  parts = [ArrayStream(_arrays(), global_batch_size=10, seed=0, process_index=i,
                       process_count=hosts).stacked(3, 4) for i in range(hosts)]
  assert whole['x'].shape == (4, 10, 3)
  for key in whole:
    np.testing.assert_array_equal(np.concatenate([p[key] for p in parts], axis=1), whole[key])


def test_user_errors_name_the_values_and_the_fix():
  with pytest.raises(ValueError, match=r"'x': 4, 'y': 3.*same length"):
    ArrayStream({'x': np.zeros(4), 'y': np.zeros(3)}, global_batch_size=2, seed=0)
  with pytest.raises(DataError, match=r'batch_size=30 does not fit the 25 examples of codes; '
                                      r'set --config.batch_size=25 \(or any number from 1'):
    ArrayStream(_arrays(), global_batch_size=30, seed=0, name='codes')
  with pytest.raises(ValueError, match='does not divide over 3 hosts'):
    ArrayStream(_arrays(), global_batch_size=10, seed=0, process_count=3)
  with pytest.raises(ValueError, match='does not divide over 3 hosts'):
    padded_eval_batches(_arrays(), global_batch_size=10, process_count=3)  # at the call
  with pytest.raises(ValueError, match="named 'mask'"):
    padded_eval_batches({'mask': np.zeros(3)}, global_batch_size=2)


@pytest.mark.parametrize('max_examples, n', [(0, 25), (13, 13), (100, 25)])
def test_eval_batches_cover_the_rows_once_padded_with_zeros(max_examples, n):
  batches = list(padded_eval_batches(_arrays(), global_batch_size=10,
                                     max_examples=max_examples))
  assert len(batches) == -(-n // 10)
  mask = np.concatenate([b['mask'] for b in batches])
  assert mask.dtype == np.float32 and set(np.unique(mask)) <= {0.0, 1.0}
  np.testing.assert_array_equal(mask, np.arange(len(mask)) < n)
  x = np.concatenate([b['x'] for b in batches])
  np.testing.assert_array_equal(x[:n], _arrays()['x'][:n])
  assert not x[n:].any() and x.dtype == np.float32


def test_eval_hosts_concatenate_to_the_one_host_batches():
  whole = list(padded_eval_batches(_arrays(), global_batch_size=10))
  parts = [list(padded_eval_batches(_arrays(), global_batch_size=10, process_index=i,
                                    process_count=2)) for i in range(2)]
  for j, batch in enumerate(whole):
    for key in batch:
      np.testing.assert_array_equal(np.concatenate([p[j][key] for p in parts]), batch[key])
