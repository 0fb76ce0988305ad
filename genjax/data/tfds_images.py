"""TFDS image datasets read by index with `tfds.data_source` (array_record; no TensorFlow).

Each dataset's preparation is fixed here, so every run of a name sees the same pixels:
- fixed-size sets (mnist, fashion_mnist, cifar10, imagenet_resized/32x32 and /64x64) are
  read as stored;
- celeb_a (218x178): the central 148x148 crop downsampled to 64x64, as Dinh et al. (2017,
  RealNVP, Sec. 4.1) prepared CelebA;
- lsun/<category> and imagenet2012 (sizes vary): the largest central square, resized to
  `data.image_size` (64 for LSUN as in Radford et al., 2016; 256 for ImageNet as in Tian
  et al., 2024).
Resizing is PIL's antialiased bicubic (genjax.data.image_source.centre_crop_resize).
"""

from __future__ import annotations

import dataclasses
import os

import numpy as np

from genjax.data.data_errors import DataError
from genjax.data.image_source import ReadOnDemand, centre_crop_resize


@dataclasses.dataclass(frozen=True)
class TfdsSpec:
  """How one TFDS dataset becomes images.

  Attributes:
    shape: the stored [H, W, C], or () when sizes vary (then `crop` and `size` apply).
    num_classes: 0 for an unlabelled set (its labels read as 0).
    test_split: the TFDS split genjax calls 'test' ('validation' where there is no test).
    crop: the central square cut before resizing; 0 for the largest.
    size: the side a varying-size set is resized to unless data.image_size says otherwise.
    manual: TFDS needs the files downloaded by hand (a licence), not just internet.
  """
  shape: tuple[int, ...] = ()
  num_classes: int = 0
  test_split: str = 'test'
  crop: int = 0
  size: int = 0
  manual: bool = False


SPECS = {
    'mnist': TfdsSpec((28, 28, 1), 10),
    'fashion_mnist': TfdsSpec((28, 28, 1), 10),
    'cifar10': TfdsSpec((32, 32, 3), 10),
    'imagenet_resized/32x32': TfdsSpec((32, 32, 3), 1000, 'validation'),
    'imagenet_resized/64x64': TfdsSpec((64, 64, 3), 1000, 'validation'),
    'celeb_a': TfdsSpec(crop=148, size=64),
    'lsun': TfdsSpec(test_split='validation', size=64),
    'imagenet2012': TfdsSpec(num_classes=1000, test_split='validation', size=256,
                                    manual=True),
}


def spec_of(name: str) -> TfdsSpec | None:
  """The spec of `name`; every 'lsun/<category>' shares lsun's."""
  return SPECS.get(name.split('/')[0] if name.startswith('lsun/') else name)


def default_data_dir() -> str:
  return os.environ.get('TFDS_DATA_DIR', '') or os.path.expanduser('~/tensorflow_datasets')


def prepare_command(name: str, data_dir: str) -> str:
  """The command that prepares `name` in `data_dir` as array_record, which genjax reads."""
  return f'tfds build {name} --data_dir={data_dir} --file_format=array_record'


class TfdsImages(ReadOnDemand):
  """One split of a TFDS image dataset; rows are decoded (and cropped) when read."""

  def __init__(self, name: str, split: str, data_source, data_dir: str, image_size: int):
    spec = spec_of(name)
    self.name, self.split, self.source = name, split, f'tfds:{data_dir}'
    self.num_classes = spec.num_classes
    self._data_source, self._spec = data_source, spec
    self._size = image_size or spec.size
    # A batched read lets array_record fetch the rows in parallel; TFDS's mock sources
    # (tfds.testing.mock_data) lack it, and are read row by row.
    try:
      first = data_source.__getitems__([0])[0]
      self._batched = True
    except TypeError:
      first, self._batched = data_source[0], False
    first = self._prepare(first['image'])
    if spec.shape and first.shape != spec.shape:
      raise DataError(f'{name} at {data_dir} has {first.shape} images where {spec.shape} '
                      f'were expected; prepare it again with `{prepare_command(name, data_dir)}`.')
    self.image_shape = tuple(first.shape)

  def __len__(self) -> int:
    return len(self._data_source)

  def _prepare(self, image: np.ndarray) -> np.ndarray:
    image = np.asarray(image, np.uint8)
    if image.ndim == 2:
      image = image[..., None]
    if self._spec.shape:
      return image
    return centre_crop_resize(image, self._spec.crop, self._size)

  def read_rows(self, indices):
    keys = [int(i) for i in indices]
    records = (self._data_source.__getitems__(keys) if self._batched else
               [self._data_source[k] for k in keys])
    images = np.stack([self._prepare(r['image']) for r in records])
    if self.num_classes:
      labels = np.asarray([r['label'] for r in records], np.int32)
    else:
      labels = np.zeros(len(records), np.int32)
    return images, labels


def open_split(name: str, split: str, data_dir: str, download: bool,
               image_size: int) -> tuple[TfdsImages | None, str]:
  """The split and '', or None and what went wrong, in words for a message."""
  spec = spec_of(name)
  data_dir = data_dir or default_data_dir()
  tfds_split = spec.test_split if split == 'test' else split
  if not os.path.isdir(os.path.join(data_dir, name.split('/')[0])) and not download:
    return None, f'no prepared TFDS dataset under {data_dir}/{name.split("/")[0]}'
  try:
    import tensorflow_datasets as tfds  # pylint: disable=g-import-not-at-top
    if download:
      tfds.builder(name, data_dir=data_dir, file_format='array_record').download_and_prepare()
    data_source = tfds.data_source(name, split=tfds_split, data_dir=data_dir)
    if not len(data_source):  # pylint: disable=g-explicit-length-test
      return None, f'TFDS at {data_dir}: the {tfds_split} split of {name} is empty'
    return TfdsImages(name, split, data_source, data_dir, image_size), ''
  except DataError:  # found, but not what genjax reads: no other source should be tried
    raise
  except NotImplementedError:  # prepared as tfrecord, which has no random access
    return None, (f'TFDS at {data_dir}: {name} is prepared as tfrecord, which cannot be '
                  f'read by index; rebuild it with `{prepare_command(name, data_dir)}`')
  except Exception as e:  # TFDS raises many types; each means "this source failed".
    return None, f'TFDS at {data_dir}: {type(e).__name__}: {str(e).splitlines()[0][:200]}'
