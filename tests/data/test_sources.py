"""Dataset sources: the IDX reader, source order, and the missing-data message."""

import gzip
import struct

import numpy as np
import pytest

from genjax.data import DatasetNotFoundError, idx, load_image_dataset, sources


def _write_idx(path, array, compress):
  header = struct.pack('>BBBB', 0, 0, 0x08, array.ndim) + b''.join(
      struct.pack('>I', d) for d in array.shape)
  data = header + array.astype(np.uint8).tobytes()
  with (gzip.open if compress else open)(path, 'wb') as f:
    f.write(data)


def _fake_mnist_dir(tmp_path, compress=True):
  rng = np.random.default_rng(0)
  arrays = {}
  for split, n in (('train', 12), ('test', 5)):
    images = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
    labels = rng.integers(0, 10, (n,), dtype=np.uint8)
    stems = idx.IDX_FILES[split]
    suffix = '.gz' if compress else ''
    _write_idx(str(tmp_path / (stems[0] + suffix)), images, compress)
    _write_idx(str(tmp_path / (stems[1] + suffix)), labels, compress)
    arrays[split] = (images, labels)
  return arrays


@pytest.mark.parametrize('compress', [True, False])
def test_idx_round_trip(tmp_path, compress):
  arrays = _fake_mnist_dir(tmp_path, compress)
  got = load_image_dataset('mnist', 'test', idx_dir=str(tmp_path),
                           tfds_data_dir=str(tmp_path / 'no_tfds'))
  np.testing.assert_array_equal(got.images[..., 0], arrays['test'][0])
  np.testing.assert_array_equal(got.labels, arrays['test'][1])
  assert got.images.shape == (5, 28, 28, 1) and got.labels.dtype == np.int32
  assert got.split == 'test' and got.source == f'idx:{tmp_path}'


def test_prepared_tfds_dataset_is_read_without_tensorflow(tmp_path):
  import tensorflow_datasets as tfds  # pylint: disable=g-import-not-at-top
  (tmp_path / 'mnist').mkdir()  # what a prepared data dir holds
  with tfds.testing.mock_data(num_examples=6, policy=tfds.testing.MockPolicy.USE_CODE):
    got = load_image_dataset('mnist', 'test', tfds_data_dir=str(tmp_path))
  assert got.images.shape == (6, 28, 28, 1) and got.images.dtype == np.uint8
  assert got.labels.shape == (6,) and got.labels.dtype == np.int32
  assert got.source == f'tfds:{tmp_path}'


def test_idx_rejects_a_file_that_is_not_idx(tmp_path):
  path = tmp_path / 'bad'
  path.write_bytes(b'hello world')
  with pytest.raises(ValueError, match='not an IDX file'):
    idx.read_idx(str(path))


def test_missing_dataset_names_every_way_to_get_it(tmp_path, monkeypatch):
  monkeypatch.setattr(sources, 'DEBIAN_FASHION_MNIST', str(tmp_path / 'no_debian'))
  with pytest.raises(DatasetNotFoundError) as e:
    load_image_dataset('fashion_mnist', 'train', tfds_data_dir=str(tmp_path / 'no_tfds'),
                       idx_dir=str(tmp_path / 'no_idx'))
  message = str(e.value)
  for remedy in ('tfds-prepare', 'tfds_data_dir', 'idx_dir', 'apt-get install dataset-fashion-mnist'):
    assert remedy in message
  assert 'Traceback' not in message


def test_unknown_dataset_is_a_clear_error():
  with pytest.raises(ValueError, match="Unknown dataset 'cifar'.*--config.data.name"):
    load_image_dataset('cifar', 'train')


def test_digits_is_split_without_overlap():
  train, test = load_image_dataset('digits', 'train'), load_image_dataset('digits', 'test')
  assert train.images.shape[1:] == (8, 8, 1) and len(train.images) + len(test.images) == 1797
  assert train.images.max() == 255 and train.images.dtype == np.uint8
  train_rows = {r.tobytes() for r in train.images}
  assert sum(r.tobytes() in train_rows for r in test.images) < 5  # digits has a few duplicates
