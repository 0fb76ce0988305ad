"""Image datasets by name, from the source the config names or the first default that has them.

Names: the small grey sets (fashion_mnist, mnist, digits), the colour sets TFDS prepares
(cifar10, celeb_a, imagenet_resized/32x32 and /64x64, lsun/<category>, imagenet2012;
genjax.data.tfds_images says how each is cropped), a user's folder of images
(image_folder, with data.image_dir) and natural_patches (genjax.data.natural_patches).

A config that names a source (`data.idx_dir`, `data.tfds_data_dir` / `data.tfds_download`,
`data.image_dir`) gets that source or an error, and a source named for a dataset that
does not read from it is an error too. With none named, the defaults are tried in order:
TFDS's default data dir (read with `tfds.data_source`, which needs no TensorFlow), then,
for Fashion-MNIST, Debian's `dataset-fashion-mnist`. TFDS and folder splits are read by
index as batches need them; the small IDX and digits sets are held in memory. Every split
is checked when it is opened: not empty, one label per image, the expected image size.
"""

from __future__ import annotations

import dataclasses
import os

import numpy as np

from genjax.data import idx, image_folder, natural_patches, tfds_images
from genjax.data.data_errors import DataError, DatasetNotFoundError
from genjax.data.image_source import ImageSource

DEBIAN_FASHION_MNIST = '/usr/share/datasets/fashion-mnist'
IMAGE_DATASETS = ('fashion_mnist', 'mnist', 'digits', 'cifar10', 'celeb_a',
                  'imagenet_resized/32x32', 'imagenet_resized/64x64', 'lsun/<category>',
                  'imagenet2012', 'image_folder', 'natural_patches')
IDX_DATASETS = ('fashion_mnist', 'mnist')
SPLITS = ('train', 'test')


@dataclasses.dataclass(frozen=True)
class ImageArrays(ImageSource):
  """One split of an image dataset in memory: images uint8 [N, H, W, C] in 0..255, labels
  int32 [N]."""
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

  def __len__(self) -> int:
    return len(self.images)

  @property
  def image_shape(self) -> tuple[int, ...]:
    return tuple(self.images.shape[1:])

  def read_rows(self, indices):
    indices = np.asarray(indices, np.int64)
    return self.images[indices], self.labels[indices]


def load_image_dataset(name: str, split: str, *, tfds_data_dir: str = '',
                       tfds_download: bool = False, idx_dir: str = '', image_dir: str = '',
                       image_size: int = 0) -> ImageSource:
  """Opens one split of `name` (one of IMAGE_DATASETS) from the source the arguments name."""
  if name not in IMAGE_DATASETS and tfds_images.spec_of(name) is None:
    raise DataError(f"Unknown dataset '{name}'. Choose one of {IMAGE_DATASETS} "
                     "with --config.data.name.")
  if split not in SPLITS:
    raise DataError(f"Unknown split '{split}'; use one of {SPLITS}.")
  _check_named_sources(name, tfds_data_dir, tfds_download, idx_dir, image_dir)
  _check_image_size(name, image_size)
  if name == 'digits':
    return _load_digits(split)
  if name == 'natural_patches':
    return natural_patches.NaturalPatches(split)
  if name == 'image_folder':
    return image_folder.FolderImages(image_dir, split, image_size)
  if idx_dir:
    return _from_given_idx_dir(name, split, idx_dir)
  if tfds_data_dir or tfds_download:
    return _from_given_tfds(name, split, tfds_data_dir, tfds_download, image_size)

  arrays, problem = tfds_images.open_split(name, split, '', False, image_size)
  tried = [problem]
  if arrays is None and name == 'fashion_mnist':
    arrays, problem = _from_idx(name, split, DEBIAN_FASHION_MNIST)
    tried.append(problem)
  if arrays is None:
    raise DatasetNotFoundError(_missing_message(name, tried))
  return arrays


def _check_named_sources(name, tfds_data_dir, tfds_download, idx_dir, image_dir) -> None:
  """A source the config names must be one `name` reads from: none is silently ignored."""
  named = [(f'data.idx_dir={idx_dir!r}', "--config.data.idx_dir=''", bool(idx_dir),
            name in IDX_DATASETS, f'IDX files hold only {" and ".join(IDX_DATASETS)}'),
           (f'data.image_dir={image_dir!r}', "--config.data.image_dir=''", bool(image_dir),
            name == 'image_folder', 'only data.name=image_folder reads a folder of images'),
           (f'data.tfds_data_dir={tfds_data_dir!r}', "--config.data.tfds_data_dir=''",
            bool(tfds_data_dir), tfds_images.spec_of(name) is not None,
            f'{name} is not read from TFDS'),
           ('data.tfds_download=True', '--config.data.tfds_download=False', tfds_download,
            tfds_images.spec_of(name) is not None, f'{name} is not read from TFDS')]
  for field, unset, given, used, why in named:
    if given and not used:
      raise DataError(f'{field} is given, but data.name={name!r} does not read from it '
                      f'({why}); drop it ({unset}) or choose the dataset it holds with '
                      '--config.data.name.')
  if name == 'image_folder' and not image_dir:
    raise DataError('data.name=image_folder needs the folder: add '
                    f'--config.data.image_dir=DIR, laid out as {image_folder.LAYOUT}.')
  if idx_dir and (tfds_data_dir or tfds_download):
    raise DataError(f'data.idx_dir={idx_dir!r} and data.tfds_data_dir={tfds_data_dir!r} '
                    f'(tfds_download={tfds_download}) both say where {name} is; keep one, '
                    "e.g. --config.data.tfds_data_dir='' --config.data.tfds_download=False.")


def _check_image_size(name: str, image_size: int) -> None:
  """A fixed-size dataset is read at its own size; asking for another is a mistake."""
  native = {'digits': 8, 'natural_patches': natural_patches.PATCH}.get(name)
  spec = tfds_images.spec_of(name)
  if spec is not None and spec.shape:
    native = spec.shape[0]
  if image_size < 0 or (native and image_size not in (0, native)):
    raise DataError(f'data.image_size={image_size}, but {name} images are {native}x{native}; '
                    'leave --config.data.image_size=0, or choose a dataset of that size '
                    '(imagenet_resized/64x64, celeb_a, lsun/<category>, image_folder).')


def _from_given_idx_dir(name: str, split: str, directory: str) -> ImageArrays:
  arrays, problem = _from_idx(name, split, directory)
  if arrays is None:
    raise DatasetNotFoundError(
        f'data.idx_dir={directory!r} does not hold the {name} {split} split: {problem}. Point '
        '--config.data.idx_dir at a folder with these IDX files, or leave it empty '
        "(--config.data.idx_dir='') to use the default sources.")
  return arrays


def _from_given_tfds(name: str, split: str, data_dir: str, download: bool,
                     image_size: int) -> ImageSource:
  arrays, problem = tfds_images.open_split(name, split, data_dir, download, image_size)
  if arrays is None and download:
    raise DatasetNotFoundError(
        f'Preparing {name} with TFDS (data.tfds_download=True) failed: {problem}. Check the '
        "internet connection and pip install 'genjax[tfds-prepare]', or set "
        '--config.data.tfds_download=False.')
  if arrays is None:
    raise DatasetNotFoundError(
        f'data.tfds_data_dir={data_dir!r} does not give {name} {split}: {problem}. Prepare '
        f'it there with `{tfds_images.prepare_command(name, data_dir)}` (or add '
        '--config.data.tfds_download=True), point --config.data.tfds_data_dir at a TFDS '
        "data dir that holds it, or leave it empty (--config.data.tfds_data_dir='') to use "
        'the default sources.')
  return arrays


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
  data_dir = tfds_images.default_data_dir()
  build = tfds_images.prepare_command(name, data_dir)
  if name not in IDX_DATASETS:
    manual = (' after placing the ILSVRC2012 tar files in '
              f'{data_dir}/downloads/manual' if tfds_images.spec_of(name).manual else '')
    return (f"Dataset '{name}' is not prepared under {data_dir} ({tried[0]}): with internet "
            f"run `{build}`{manual} (pip install 'genjax[tfds-prepare]'), or add "
            '--config.data.tfds_download=True, or point --config.data.tfds_data_dir at a '
            'prepared copy.')
  ways = [
      f"  * with internet: `{build}` (pip install 'genjax[tfds-prepare]'), or add "
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
