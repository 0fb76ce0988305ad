"""Image sources read by index: TFDS colour sets (on TFDS's mock data), a folder of images,
natural patches; and the streams over them: host rows, flips, prefetch, evaluation."""

import os

import numpy as np
import pytest
from PIL import Image

from genjax.data import DataError, DatasetNotFoundError, load_image_dataset
from genjax.data.arrays import StepOrder
from genjax.data.image_source import ReadOnDemand, centre_crop_resize
from genjax.data.natural_patches import NaturalPatches
from genjax.data.pipeline import TrainStream, eval_batches
from genjax.data.prefetch import Prefetched
from genjax.data.sources import ImageArrays


@pytest.fixture
def tfds_dir(tmp_path, monkeypatch):
  """An empty TFDS data dir with a folder per dataset, as a prepared one has; the data
  itself comes from tfds.testing.mock_data."""
  for name in ('cifar10', 'celeb_a', 'lsun', 'imagenet_resized', 'mnist'):
    (tmp_path / name).mkdir()
  monkeypatch.setenv('TFDS_DATA_DIR', str(tmp_path))
  return tmp_path


def _mock(num_examples=20):
  import tensorflow_datasets as tfds  # pylint: disable=g-import-not-at-top
  return tfds.testing.mock_data(num_examples=num_examples)


@pytest.mark.parametrize('name,shape,classes', [
    ('cifar10', (32, 32, 3), 10),
    ('imagenet_resized/64x64', (64, 64, 3), 1000),
    ('celeb_a', (64, 64, 3), 0),  # 218x178 stored, central 148 cropped, resized
    ('lsun/bedroom', (64, 64, 3), 0),  # mock sizes vary; largest central square, resized
])
def test_tfds_colour_sets_are_read_by_index_at_their_size(tfds_dir, name, shape, classes):
  with _mock():
    train = load_image_dataset(name, 'train')
    test = load_image_dataset(name, 'test')  # 'validation' where TFDS has no test split
    images, labels = train.read([3, 0, 3])
  assert isinstance(train, ReadOnDemand) and len(train) == 20 and len(test) == 20
  assert train.image_shape == shape and images.shape == (3,) + shape
  assert images.dtype == np.uint8 and labels.dtype == np.int32
  np.testing.assert_array_equal(images[0], images[2])
  assert train.num_classes == classes
  if not classes:
    assert not labels.any()


def test_a_source_reads_only_the_rows_asked_for(tfds_dir):
  with _mock(num_examples=50):
    train = load_image_dataset('cifar10', 'train')
    asked = []
    read_rows = train.read_rows
    train.read_rows = lambda rows: (asked.extend(rows), read_rows(rows))[1]
    host = TrainStream(train, global_batch_size=8, seed=0, binarize='none', process_index=1,
                       process_count=2)
    host.batch(3)
  assert sorted(asked) == sorted(host.rows(3)) and len(asked) == 4


def test_a_missing_colour_set_is_one_line_with_the_directory_and_the_build_command(
    tmp_path, monkeypatch):
  monkeypatch.setenv('TFDS_DATA_DIR', str(tmp_path))
  with pytest.raises(DatasetNotFoundError) as e:
    load_image_dataset('cifar10', 'train')
  message = str(e.value)
  assert '\n' not in message and 'cifar10' in message and str(tmp_path) in message
  assert f'tfds build cifar10 --data_dir={tmp_path} --file_format=array_record' in message
  assert '--config.data.tfds_download=True' in message


def test_a_set_of_the_wrong_image_shape_names_the_rebuild(tfds_dir, monkeypatch):
  from genjax.data import tfds_images  # pylint: disable=g-import-not-at-top
  monkeypatch.setitem(tfds_images.SPECS, 'cifar10', tfds_images.TfdsSpec((64, 64, 3), 10))
  with _mock(), pytest.raises(DataError, match=r'\(32, 32, 3\) images where \(64, 64, 3\)'):
    load_image_dataset('cifar10', 'train')


def _write_folder(root, sizes=((20, 24),) * 3, classes=('dog', 'cat')):
  rng = np.random.default_rng(0)
  for split in ('train', 'test'):
    for cls in classes:
      os.makedirs(root / split / cls)
      for i, (h, w) in enumerate(sizes):
        pixels = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
        Image.fromarray(pixels).save(root / split / cls / f'{i}.png')


def test_a_folder_of_images_reads_labels_from_its_sorted_class_folders(tmp_path):
  _write_folder(tmp_path)
  train = load_image_dataset('image_folder', 'train', image_dir=str(tmp_path))
  images, labels = train.read(np.arange(len(train)))
  assert train.num_classes == 2 and len(train) == 6 and images.shape == (6, 20, 24, 3)
  np.testing.assert_array_equal(labels, [0, 0, 0, 1, 1, 1])  # cat before dog
  expected = np.asarray(Image.open(tmp_path / 'train' / 'cat' / '1.png'))
  np.testing.assert_array_equal(images[1], expected)


def test_folder_images_of_mixed_sizes_need_an_image_size(tmp_path):
  _write_folder(tmp_path, sizes=((20, 24), (30, 30)))
  train = load_image_dataset('image_folder', 'train', image_dir=str(tmp_path))
  with pytest.raises(DataError, match='--config.data.image_size=N'):
    train.read([0, 1])
  resized = load_image_dataset('image_folder', 'train', image_dir=str(tmp_path), image_size=16)
  assert resized.read([0, 1])[0].shape == (2, 16, 16, 3)


def test_centre_crop_resize_takes_the_central_square():
  image = np.zeros((10, 6, 3), np.uint8)
  image[2:8] = 255  # the central 6x6 square
  np.testing.assert_array_equal(centre_crop_resize(image, 0, 6), np.full((6, 6, 3), 255))
  assert centre_crop_resize(image, 4, 2).shape == (2, 2, 3)


def test_natural_patches_never_test_on_a_trained_pixel():
  train, test = NaturalPatches('train'), NaturalPatches('test')
  assert train.image_shape == test.image_shape == (32, 32, 3) and train.num_classes == 2
  for photo in (0, 1):
    covered = {}
    for split in (train, test):
      columns = np.zeros(640, bool)
      for _, _, left in split._corners[split._corners[:, 0] == photo]:  # pylint: disable=protected-access
        columns[left:left + 32] = True
      covered[split.split] = columns
    assert not (covered['train'] & covered['test']).any()
    # Both splits reach across the picture, not one side of it.
    for columns in covered.values():
      assert columns[:320].any() and columns[320:].any()
  images, labels = test.read(np.arange(20))
  assert images.dtype == np.uint8 and set(labels) == {0, 1}  # shuffled: both photographs
  assert images.std() > 5  # photographs, not blank


def _arrays(n=40, shape=(6, 6, 3)):
  rng = np.random.default_rng(1)
  return ImageArrays('cifar10', 'train', rng.integers(0, 256, (n,) + shape, dtype=np.uint8),
                     rng.integers(0, 10, n).astype(np.int32), source='test')


class _OnDemand(ReadOnDemand):
  """The same rows as an ImageArrays, read by index."""

  def __init__(self, arrays):
    self._arrays = arrays
    self.name, self.split, self.source = arrays.name, arrays.split, 'on demand'
    self.num_classes, self.image_shape = arrays.num_classes, arrays.image_shape

  def __len__(self):
    return len(self._arrays)

  def read_rows(self, indices):
    return self._arrays.read_rows(indices)


@pytest.mark.parametrize('binarize', ['none', 'dynamic'])
def test_a_source_read_on_demand_streams_what_the_arrays_stream(binarize):
  arrays = _arrays()
  kwargs = dict(global_batch_size=8, seed=3, binarize=binarize, random_flip=True)
  in_memory, on_demand = TrainStream(arrays, **kwargs), TrainStream(_OnDemand(arrays), **kwargs)
  for step in (0, 4, 7):
    a, b = in_memory.batch(step), on_demand.batch(step)
    np.testing.assert_array_equal(a['image'], b['image'])
    np.testing.assert_array_equal(a['label'], b['label'])
  for split in (arrays, _OnDemand(arrays)):
    batches = list(eval_batches(split, global_batch_size=16, binarize='none'))
    assert len(batches) == 3 and batches[-1]['mask'].sum() == 8
    np.testing.assert_array_equal(np.concatenate([b['image'] for b in batches])[:40],
                                  arrays.images / np.float32(255))


def test_flips_mirror_about_half_the_images_the_same_on_every_host_layout():
  arrays = _arrays(n=400)
  kwargs = dict(global_batch_size=200, seed=0, binarize='none', random_flip=True)
  whole = TrainStream(arrays, **kwargs).batch(1)
  halves = [TrainStream(arrays, process_index=i, process_count=2, **kwargs).batch(1)
            for i in (0, 1)]
  np.testing.assert_array_equal(whole['image'],
                                np.concatenate([h['image'] for h in halves]))
  rows = StepOrder(400, global_batch_size=200, seed=0).rows(1)
  plain = arrays.images[rows] / np.float32(255)
  flipped = np.all(whole['image'] == plain[:, :, ::-1], axis=(1, 2, 3))
  kept = np.all(whole['image'] == plain, axis=(1, 2, 3))
  assert np.all(flipped | kept) and 60 < flipped.sum() < 140


def test_prefetched_batches_are_the_streams_even_after_a_jump_back():
  stream = TrainStream(_arrays(), global_batch_size=4, seed=0, binarize='dynamic')
  ahead = Prefetched(stream, depth=2)
  for first in (0, 3, 6, 9, 3, 6):  # consecutive calls, then a rollback to step 3
    got, want = ahead.stacked(first, 3), stream.stacked(first, 3)
    np.testing.assert_array_equal(got['image'], want['image'])
    np.testing.assert_array_equal(got['label'], want['label'])


def test_the_images_of_a_source_read_on_demand_are_read_when_sliced():
  arrays = _arrays()
  split, asked = _OnDemand(arrays), []
  read_rows = split.read_rows
  split.read_rows = lambda rows: (asked.extend(rows), read_rows(rows))[1]
  images = split.images
  assert images.shape == (40, 6, 6, 3) and len(images) == 40 and not asked
  np.testing.assert_array_equal(images[:8], arrays.images[:8])
  assert sorted(asked) == list(range(8))
  np.testing.assert_array_equal(images[[5, 1]], arrays.images[[5, 1]])
  np.testing.assert_array_equal(split.labels[3], arrays.labels[3])
  np.testing.assert_array_equal(np.asarray(images), arrays.images)
  np.testing.assert_array_equal(images.astype(np.float32), arrays.images.astype(np.float32))
