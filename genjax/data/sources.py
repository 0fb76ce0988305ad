"""Image datasets by name, from the source the config names or the first default that has them.

A config that names a source (`data.idx_dir`, or `data.tfds_data_dir` / `data.tfds_download`)
gets that source or an error: a directory given for the data must hold it. With none
named, the defaults are tried in order: TFDS's default data dir (read with
`tfds.data_source`, which needs no TensorFlow), then Debian's `dataset-fashion-mnist`.
Every split is checked when it is loaded: not empty, one label per image.
"""

from __future__ import annotations

import dataclasses
import os

import numpy as np

from genjax.data import idx
from genjax.errors import UserError

DEBIAN_FASHION_MNIST = '/usr/share/datasets/fashion-mnist'
IMAGE_DATASETS = ('fashion_mnist', 'mnist', 'digits')
SPLITS = ('train', 'test')


class DatasetNotFoundError(FileNotFoundError, UserError):
  """No source could provide the dataset; the message lists every way to get it."""


class DataError(ValueError, UserError):
  """The data cannot be used as asked: an empty split, a label count that differs from the
  image count, a corrupt file, a batch larger than the split, or two sources named at once."""


@dataclasses.dataclass(frozen=True)
class ImageArrays:
  """One split of an image dataset: images uint8 [N, H, W, 1] in 0..255, labels int32 [N]."""
  name: str
  split: str
  images: np.ndarray
  labels: np.ndarray
  source: str
  num_classes: int = 10

  def __post_init__(self):
    # Checked here so that every source, and arrays built by hand, fail at load time with
    # the split named, not steps later inside a batch.
    num_images, num_labels = len(self.images), len(self.labels)
    if num_images != num_labels:
      raise DataError(f'{self.name} {self.split} from {self.source} has {num_images} images '
                      f'but {num_labels} labels; every image needs one label, so '
                      f'{_refetch_remedy(self.source)}.')
    if not num_images:
      raise DataError(f'{self.name} {self.split} from {self.source} has no images; '
                      f'{_refetch_remedy(self.source)}.')


def load_image_dataset(name: str, split: str, *, tfds_data_dir: str = '',
                       tfds_download: bool = False, idx_dir: str = '') -> ImageArrays:
  """Loads one split of `name` ('fashion_mnist', 'mnist' or 'digits')."""
  if name not in IMAGE_DATASETS:
    raise DataError(f"Unknown dataset '{name}'. Choose one of {IMAGE_DATASETS} "
                     "with --config.data.name.")
  if split not in SPLITS:
    raise DataError(f"Unknown split '{split}'; use one of {SPLITS}.")
  if name == 'digits':
    return _load_digits(split)
  if idx_dir and (tfds_data_dir or tfds_download):
    raise DataError(f'data.idx_dir={idx_dir!r} and data.tfds_data_dir={tfds_data_dir!r} '
                    f'(tfds_download={tfds_download}) both say where {name} is; keep one, '
                    "e.g. --config.data.tfds_data_dir='' --config.data.tfds_download=False.")
  if idx_dir:
    return _from_given_idx_dir(name, split, idx_dir)
  if tfds_data_dir or tfds_download:
    return _from_given_tfds(name, split, tfds_data_dir, tfds_download)

  arrays, problem = _from_tfds(name, split, '', False)
  tried = [problem]
  if arrays is None and name == 'fashion_mnist':
    arrays, problem = _from_idx(name, split, DEBIAN_FASHION_MNIST)
    tried.append(problem)
  if arrays is None:
    raise DatasetNotFoundError(_missing_message(name, tried))
  return arrays


def _from_given_idx_dir(name: str, split: str, directory: str) -> ImageArrays:
  arrays, problem = _from_idx(name, split, directory)
  if arrays is None:
    raise DatasetNotFoundError(
        f'data.idx_dir={directory!r} does not hold the {name} {split} split: {problem}. Point '
        '--config.data.idx_dir at a folder with these IDX files, or leave it empty '
        "(--config.data.idx_dir='') to use the default sources.")
  return arrays


def _from_given_tfds(name: str, split: str, data_dir: str, download: bool) -> ImageArrays:
  arrays, problem = _from_tfds(name, split, data_dir, download)
  if arrays is None and download:
    raise DatasetNotFoundError(
        f'Preparing {name} with TFDS (data.tfds_download=True) failed: {problem}. Check the '
        "internet connection and pip install 'genjax[tfds-prepare]', or set "
        '--config.data.tfds_download=False.')
  if arrays is None:
    raise DatasetNotFoundError(
        f'data.tfds_data_dir={data_dir!r} does not give {name} {split}: {problem}. Point '
        '--config.data.tfds_data_dir at a TFDS data dir that holds it, add '
        '--config.data.tfds_download=True to prepare it there, or leave it empty '
        "(--config.data.tfds_data_dir='') to use the default sources.")
  return arrays


def _from_tfds(name, split, data_dir, download) -> tuple[ImageArrays | None, str]:
  """The split and '', or None and what was missing."""
  data_dir = data_dir or os.environ.get('TFDS_DATA_DIR', '') or os.path.expanduser(
      '~/tensorflow_datasets')
  if not os.path.isdir(os.path.join(data_dir, name)) and not download:
    return None, f'no prepared TFDS dataset under {data_dir}/{name}'
  try:
    import tensorflow_datasets as tfds  # pylint: disable=g-import-not-at-top
    if download:
      tfds.builder(name, data_dir=data_dir).download_and_prepare()
    source = tfds.data_source(name, split=split, data_dir=data_dir)
    records = [source[i] for i in range(len(source))]  # data sources take no slices
  except Exception as e:  # TFDS raises many types; each means "this source failed".
    return None, f'TFDS at {data_dir}: {type(e).__name__}: {str(e).splitlines()[0][:200]}'
  if not records:  # np.stack would fail; ImageArrays names the empty split instead
    images = np.zeros((0, 0, 0), np.uint8)
  else:
    images = np.stack([r['image'] for r in records]).astype(np.uint8)
  labels = np.asarray([r['label'] for r in records], np.int32)
  return ImageArrays(name, split, images.reshape(images.shape[:3] + (1,)), labels,
                     source=f'tfds:{data_dir}'), ''


def _from_idx(name, split, directory) -> tuple[ImageArrays | None, str]:
  """The split and '', or None and which files were missing."""
  if not os.path.isdir(directory):
    return None, f'{directory} is not a directory'
  stems = idx.IDX_FILES[split]
  missing = [stem for stem in stems if idx.find_idx_file(directory, stem) is None]
  if missing:
    return None, (f'looked in {directory} for {" and ".join(stems)} (plain or .gz), '
                  f'missing {", ".join(missing)}')
  try:
    images, labels = idx.read_idx_split(directory, split)
  except ValueError as e:
    raise DataError(f'{e} Replace it with a complete copy, or point --config.data.idx_dir '
                    'at another folder.') from e
  return ImageArrays(name, split, images[..., None].astype(np.uint8), labels.astype(np.int32),
                     source=f'idx:{directory}'), ''


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


def _refetch_remedy(source: str) -> str:
  kind, _, where = source.partition(':')
  if kind == 'idx':
    return (f'replace the IDX files in {where} with a complete pair, or point '
            '--config.data.idx_dir at another folder')
  if kind == 'tfds':
    return (f'prepare the dataset again under {where} (--config.data.tfds_download=True), '
            'or point --config.data.tfds_data_dir at another data dir')
  return 'check the arrays it was built from'


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
