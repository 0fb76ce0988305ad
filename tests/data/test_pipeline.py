"""Batch streams: deterministic, host-sharded without changing the data, resumable."""

import numpy as np
import pytest

from genjax.data import TrainStream, eval_batches
from genjax.data.sources import ImageArrays


def _arrays(n=100):
  rng = np.random.default_rng(0)
  return ImageArrays('fake', 'train', rng.integers(0, 256, (n, 4, 4, 1), dtype=np.uint8),
                     np.arange(n, dtype=np.int32), source='test')


@pytest.mark.parametrize('binarize', ['none', 'dynamic', 'static'])
def test_stream_is_a_function_of_seed_and_step(binarize):
  a = TrainStream(_arrays(), global_batch_size=10, seed=3, binarize=binarize)
  b = TrainStream(_arrays(), global_batch_size=10, seed=3, binarize=binarize)
  for step in (0, 7, 10, 25):  # 10 steps per epoch: crosses epochs
    np.testing.assert_array_equal(a.batch(step)['image'], b.batch(step)['image'])
  assert not np.array_equal(a.batch(0)['label'], a.batch(1)['label'])


def test_each_epoch_visits_every_example_once():
  s = TrainStream(_arrays(), global_batch_size=10, seed=0, binarize='none')
  for epoch in range(2):
    labels = np.concatenate([s.batch(epoch * 10 + i)['label'] for i in range(10)])
    np.testing.assert_array_equal(np.sort(labels), np.arange(100))


@pytest.mark.parametrize('binarize', ['none', 'dynamic', 'static'])
def test_hosts_split_the_same_global_batch(binarize):
  whole = TrainStream(_arrays(), global_batch_size=10, seed=1, binarize=binarize).batch(13)
  parts = [TrainStream(_arrays(), global_batch_size=10, seed=1, binarize=binarize,
                       process_index=i, process_count=2).batch(13) for i in range(2)]
  for key in ('image', 'label'):
    np.testing.assert_array_equal(np.concatenate([p[key] for p in parts]), whole[key])


def test_dynamic_binarization_resamples_and_static_does_not():
  arrays = _arrays(10)
  dyn = TrainStream(arrays, global_batch_size=10, seed=0, binarize='dynamic')
  sta = TrainStream(arrays, global_batch_size=10, seed=0, binarize='static')
  by_label = lambda b: b['image'][np.argsort(b['label'])]
  assert set(np.unique(dyn.batch(0)['image'])) <= {0.0, 1.0}
  assert not np.array_equal(by_label(dyn.batch(0)), by_label(dyn.batch(1)))
  np.testing.assert_array_equal(by_label(sta.batch(0)), by_label(sta.batch(1)))
  # Dynamic binarisation is unbiased: pixel means approach the grey levels.
  mean = np.mean([by_label(dyn.batch(s)) for s in range(400)], axis=0)
  np.testing.assert_allclose(mean, arrays.images / 255.0, atol=0.1)


def test_batch_that_does_not_divide_over_hosts_is_a_clear_error():
  with pytest.raises(ValueError, match='does not divide over 3 hosts.*--config.batch_size'):
    TrainStream(_arrays(), global_batch_size=10, seed=0, binarize='none', process_count=3)


def test_eval_batches_cover_the_split_once_with_a_padding_mask():
  batches = list(eval_batches(_arrays(25), global_batch_size=10, binarize='none'))
  assert len(batches) == 3
  mask = np.concatenate([b['mask'] for b in batches])
  labels = np.concatenate([b['label'] for b in batches])[mask == 1]
  np.testing.assert_array_equal(labels, np.arange(25))
  assert mask.sum() == 25


def test_train_batch_is_the_shuffled_rows_with_one_global_draw_per_step():
  # Pins the exact rule, so that refactoring keeps every stored run's data stream.
  arrays = _arrays(25)
  grey = arrays.images.astype(np.float32) / 255.0
  for process_index in range(2):
    s = TrainStream(arrays, global_batch_size=10, seed=5, binarize='dynamic',
                    process_index=process_index, process_count=2)
    host = slice(5 * process_index, 5 * process_index + 5)
    for step in (0, 3):  # 2 steps per epoch: step 3 is the second batch of epoch 1
      epoch, i = divmod(step, 2)
      rows = np.random.default_rng([5, epoch]).permutation(25)[i * 10:(i + 1) * 10][host]
      u = np.random.default_rng([5, 1, step]).random((10, 4, 4, 1), dtype=np.float32)[host]
      batch = s.batch(step)
      np.testing.assert_array_equal(batch['label'], arrays.labels[rows])
      np.testing.assert_array_equal(batch['image'], (u < grey[rows]).astype(np.float32))


def test_eval_batches_are_binarised_once_with_a_fixed_seed():
  arrays = _arrays(25)
  fixed = np.random.default_rng(12345).random((13, 4, 4, 1), dtype=np.float32)
  expected = (fixed < arrays.images[:13] / np.float32(255)).astype(np.float32)
  batches = list(eval_batches(arrays, global_batch_size=10, binarize='static',
                              max_examples=13))
  image = np.concatenate([b['image'] for b in batches])
  np.testing.assert_array_equal(image[:13], expected)
