"""Image datasets by name, from the first source that has them.

Sources, in order: a prepared tensorflow-datasets data dir (read with `tfds.data_source`,
which needs no TensorFlow), TFDS preparation from the internet when asked for, IDX files
in a given directory, and Debian's `dataset-fashion-mnist` package.
"""

from __future__ import annotations

import dataclasses
import os

import numpy as np

from genjax.data import idx

DEBIAN_FASHION_MNIST = '/usr/share/datasets/fashion-mnist'
IMAGE_DATASETS = ('fashion_mnist', 'mnist', 'digits')
SPLITS = ('train', 'test')


class DatasetNotFoundError(FileNotFoundError):
  """No source could provide the dataset; the message lists every way to get it."""


@dataclasses.dataclass(frozen=True)
class ImageArrays:
  """One split of an image dataset: images uint8 [N, H, W, 1] in 0..255, labels int32 [N]."""
  name: str
  split: str
  images: np.ndarray
  labels: np.ndarray
  source: str
  num_classes: int = 10


def load_image_dataset(name: str, split: str, *, tfds_data_dir: str = '',
                       tfds_download: bool = False, idx_dir: str = '') -> ImageArrays:
  """Loads one split of `name` ('fashion_mnist', 'mnist' or 'digits')."""
  if name not in IMAGE_DATASETS:
    raise ValueError(f"Unknown dataset '{name}'. Choose one of {IMAGE_DATASETS} "
                     "with --config.data.name.")
  if split not in SPLITS:
    raise ValueError(f"Unknown split '{split}'; use one of {SPLITS}.")
  if name == 'digits':
    return _load_digits(split)

  tried = []
  arrays = _from_tfds(name, split, tfds_data_dir, tfds_download, tried)
  if arrays is None and idx_dir:
    arrays = _from_idx(name, split, idx_dir, tried)
  if arrays is None and name == 'fashion_mnist':
    arrays = _from_idx(name, split, DEBIAN_FASHION_MNIST, tried)
  if arrays is None:
    raise DatasetNotFoundError(_missing_message(name, tried))
  return arrays


def _from_tfds(name, split, data_dir, download, tried) -> ImageArrays | None:
  data_dir = data_dir or os.environ.get('TFDS_DATA_DIR', '') or os.path.expanduser(
      '~/tensorflow_datasets')
  if not os.path.isdir(os.path.join(data_dir, name)) and not download:
    tried.append(f'no prepared TFDS dataset under {data_dir}/{name}')
    return None
  try:
    import tensorflow_datasets as tfds  # pylint: disable=g-import-not-at-top
    if download:
      tfds.builder(name, data_dir=data_dir).download_and_prepare()
    source = tfds.data_source(name, split=split, data_dir=data_dir)
    records = [source[i] for i in range(len(source))]  # data sources take no slices
  except Exception as e:  # TFDS raises many types; each means "this source failed".
    tried.append(f'TFDS at {data_dir}: {type(e).__name__}: {str(e).splitlines()[0][:200]}')
    return None
  images = np.stack([r['image'] for r in records]).astype(np.uint8)
  labels = np.asarray([r['label'] for r in records], np.int32)
  return ImageArrays(name, split, images.reshape(images.shape[:3] + (1,)), labels,
                     source=f'tfds:{data_dir}')


def _from_idx(name, split, directory, tried) -> ImageArrays | None:
  found = idx.read_idx_split(directory, split)
  if found is None:
    tried.append(f'no IDX files for {split} in {directory}')
    return None
  images, labels = found
  return ImageArrays(name, split, images[..., None].astype(np.uint8), labels.astype(np.int32),
                     source=f'idx:{directory}')


def _load_digits(split: str) -> ImageArrays:
  from sklearn.datasets import load_digits  # pylint: disable=g-import-not-at-top
  digits = load_digits()
  # 0..16 grey levels, scaled to the 0..255 of the other datasets.
  images = np.round(digits.images * (255 / 16)).astype(np.uint8)[..., None]
  order = np.random.default_rng(0).permutation(len(images))
  cut = 1500
  keep = order[:cut] if split == 'train' else order[cut:]
  return ImageArrays('digits', split, images[keep], digits.target[keep].astype(np.int32),
                     source='sklearn.datasets.load_digits')


def _missing_message(name: str, tried: list[str]) -> str:
  ways = [
      f"  * with internet: pip install 'genjax[tfds-prepare]' and add "
      f"--config.data.tfds_download=True (prepares TFDS '{name}' once)",
      '  * already prepared with TFDS elsewhere: --config.data.tfds_data_dir=DIR',
      '  * MNIST-format IDX files (train-images-idx3-ubyte[.gz], ...): '
      '--config.data.idx_dir=DIR',
  ]
  if name == 'fashion_mnist':
    ways.append('  * offline on Debian/Ubuntu: sudo apt-get install dataset-fashion-mnist '
                f'(files land in {DEBIAN_FASHION_MNIST})')
  return (f"Dataset '{name}' was not found. Get it one of these ways:\n" + '\n'.join(ways) +
          '\nLooked in:\n' + '\n'.join(f'  - {t}' for t in tried))
