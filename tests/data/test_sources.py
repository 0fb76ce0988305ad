"""Dataset sources: the IDX reader, source order, and the missing-data message."""

import gzip
import struct

import numpy as np
import pytest

from genjax.data import (DataError, DatasetNotFoundError, TrainStream, idx, load_image_dataset,
                         sources)
from genjax.errors import UserError


def _write_idx(path, array, compress):
  header = struct.pack('>BBBB', 0, 0, 0x08, array.ndim) + b''.join(
      struct.pack('>I', d) for d in array.shape)
  data = header + array.astype(np.uint8).tobytes()
  with (gzip.open if compress else open)(path, 'wb') as f:
    f.write(data)


def _fake_mnist_dir(tmp_path, compress=True, counts=None):
  """IDX files of random images in tmp_path; counts: split -> (images, labels)."""
  rng = np.random.default_rng(0)
  arrays = {}
  for split, (n, m) in (counts or {'train': (12, 12), 'test': (5, 5)}).items():
    images = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
    labels = rng.integers(0, 10, (m,), dtype=np.uint8)
    stems = idx.IDX_FILES[split]
    suffix = '.gz' if compress else ''
    _write_idx(str(tmp_path / (stems[0] + suffix)), images, compress)
    _write_idx(str(tmp_path / (stems[1] + suffix)), labels, compress)
    arrays[split] = (images, labels)
  return arrays


@pytest.fixture
def no_default_tfds(tmp_path, monkeypatch):
  """TFDS's default data dir, pointed at an empty folder so the machine's own is not read."""
  monkeypatch.setenv('TFDS_DATA_DIR', str(tmp_path / 'no_tfds'))


@pytest.mark.parametrize('compress', [True, False])
def test_idx_round_trip(tmp_path, compress):
  arrays = _fake_mnist_dir(tmp_path, compress)
  got = load_image_dataset('mnist', 'test', idx_dir=str(tmp_path))
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


def test_missing_dataset_names_every_way_to_get_it(tmp_path, monkeypatch, no_default_tfds):
  monkeypatch.setattr(sources, 'DEBIAN_FASHION_MNIST', str(tmp_path / 'no_debian'))
  with pytest.raises(DatasetNotFoundError) as e:
    load_image_dataset('fashion_mnist', 'train')
  message = str(e.value)
  for remedy in ('tfds-prepare', 'tfds_data_dir', 'idx_dir', 'apt-get install dataset-fashion-mnist'):
    assert remedy in message
  assert 'Traceback' not in message


def test_without_a_named_source_the_debian_copy_is_the_fallback(tmp_path, monkeypatch,
                                                                 no_default_tfds):
  (tmp_path / 'debian').mkdir()
  _fake_mnist_dir(tmp_path / 'debian')
  monkeypatch.setattr(sources, 'DEBIAN_FASHION_MNIST', str(tmp_path / 'debian'))
  got = load_image_dataset('fashion_mnist', 'test')
  assert got.source == f'idx:{tmp_path / "debian"}'


def test_an_idx_dir_without_the_files_is_an_error_not_a_fallback(tmp_path, monkeypatch,
                                                                  no_default_tfds):
  (tmp_path / 'debian').mkdir()
  _fake_mnist_dir(tmp_path / 'debian')  # a copy that a silent fallback would find
  monkeypatch.setattr(sources, 'DEBIAN_FASHION_MNIST', str(tmp_path / 'debian'))
  (tmp_path / 'empty').mkdir()
  with pytest.raises(DatasetNotFoundError) as e:
    load_image_dataset('fashion_mnist', 'train', idx_dir=str(tmp_path / 'empty'))
  message = str(e.value)
  assert f"data.idx_dir='{tmp_path / 'empty'}' does not hold the fashion_mnist train" in message
  assert 'train-images-idx3-ubyte and train-labels-idx1-ubyte' in message
  assert "--config.data.idx_dir at a folder with these IDX files" in message
  assert "--config.data.idx_dir='') to use the default sources" in message
  with pytest.raises(DatasetNotFoundError, match='is not a directory'):
    load_image_dataset('fashion_mnist', 'train', idx_dir=str(tmp_path / 'absent'))


def test_an_idx_dir_missing_one_file_names_it(tmp_path):
  _fake_mnist_dir(tmp_path, counts={'test': (5, 5)})
  (tmp_path / (idx.IDX_FILES['test'][1] + '.gz')).unlink()
  with pytest.raises(DatasetNotFoundError, match='missing t10k-labels-idx1-ubyte'):
    load_image_dataset('mnist', 'test', idx_dir=str(tmp_path))


def test_a_tfds_data_dir_without_the_dataset_is_an_error(tmp_path, monkeypatch):
  monkeypatch.setenv('TFDS_DATA_DIR', str(tmp_path))  # a default that a fallback would read
  (tmp_path / 'mnist').mkdir()
  with pytest.raises(DatasetNotFoundError) as e:
    load_image_dataset('mnist', 'train', tfds_data_dir=str(tmp_path / 'elsewhere'))
  message = str(e.value)
  assert f"data.tfds_data_dir='{tmp_path / 'elsewhere'}' does not give mnist train" in message
  assert f'{tmp_path / "elsewhere"}/mnist' in message
  assert '--config.data.tfds_download=True' in message
  assert "--config.data.tfds_data_dir='') to use the default sources" in message


def test_naming_two_sources_at_once_is_an_error(tmp_path):
  with pytest.raises(DataError, match="data.idx_dir=.*and data.tfds_data_dir=.*keep one"):
    load_image_dataset('mnist', 'train', idx_dir=str(tmp_path), tfds_data_dir=str(tmp_path))


def test_an_empty_split_is_an_error_at_load_time(tmp_path):
  _fake_mnist_dir(tmp_path, counts={'train': (0, 0)})
  with pytest.raises(DataError) as e:
    load_image_dataset('mnist', 'train', idx_dir=str(tmp_path))
  message = str(e.value)
  assert message.startswith(f'mnist train from idx:{tmp_path} has no images;')
  assert '--config.data.idx_dir' in message
  assert isinstance(e.value, UserError)


def test_images_and_labels_of_different_counts_are_an_error(tmp_path):
  _fake_mnist_dir(tmp_path, compress=False, counts={'train': (12, 11)})
  with pytest.raises(DataError, match='mnist train from idx:.* has 12 images but 11 labels; '
                                      'every image needs one label'):
    load_image_dataset('mnist', 'train', idx_dir=str(tmp_path))


def test_a_corrupt_idx_file_is_a_user_error(tmp_path):
  _fake_mnist_dir(tmp_path, compress=False, counts={'test': (5, 5)})
  (tmp_path / idx.IDX_FILES['test'][0]).write_bytes(b'hello world')
  with pytest.raises(DataError, match='not an IDX file.*--config.data.idx_dir'):
    load_image_dataset('mnist', 'test', idx_dir=str(tmp_path))


def test_a_batch_larger_than_the_split_names_the_flag(tmp_path):
  _fake_mnist_dir(tmp_path, counts={'train': (12, 12)})
  train = load_image_dataset('mnist', 'train', idx_dir=str(tmp_path))
  with pytest.raises(DataError, match=r'batch_size=32 does not fit the 12 examples of mnist '
                                      r'train; set --config.batch_size=12'):
    TrainStream(train, global_batch_size=32, seed=0, binarize='none')


def test_unknown_dataset_is_a_clear_error():
  with pytest.raises(ValueError, match="Unknown dataset 'cifar'.*--config.data.name"):
    load_image_dataset('cifar', 'train')


def test_digits_is_split_without_overlap():
  train, test = load_image_dataset('digits', 'train'), load_image_dataset('digits', 'test')
  assert train.images.shape[1:] == (8, 8, 1) and len(train.images) + len(test.images) == 1797
  assert train.images.max() == 255 and train.images.dtype == np.uint8
  train_rows = {r.tobytes() for r in train.images}
  assert sum(r.tobytes() in train_rows for r in test.images) < 5  # digits has a few duplicates
