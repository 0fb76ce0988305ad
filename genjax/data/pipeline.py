"""Image batches of a source (genjax.data.image_source), with binarisation and flips.

Every random choice keeps the streams' promise: each draw is keyed by the seed and the
step (or is fixed once), and is made for the whole global batch before it is split by
host, so one host and many see the same global batch. A host reads only its own rows.
"""

from __future__ import annotations

from typing import Iterator

import numpy as np

from genjax.data.arrays import PaddedBatches, StepOrder, StepStream, local_slice
from genjax.data.image_source import ImageSource
from genjax.data.sources import DataError, ImageArrays

BINARIZATIONS = ('none', 'dynamic', 'static')
_EVAL_BINARIZATION_SEED = 12345  # the test set is binarised once, the same for every run


def to_unit_interval(images: np.ndarray) -> np.ndarray:
  return images.astype(np.float32) / 255.0


def binarize_static(images01: np.ndarray, seed: int) -> np.ndarray:
  """One fixed Bernoulli draw per pixel, with the grey level as its probability."""
  u = np.random.default_rng(seed).random(images01.shape, dtype=np.float32)
  return (u < images01).astype(np.float32)


def _check_binarize(binarize: str) -> None:
  if binarize not in BINARIZATIONS:
    raise DataError(f"Unknown binarization '{binarize}'; use one of {BINARIZATIONS} "
                     'with --config.data.binarize.')


class TrainStream(StepStream):
  """Shuffled training images; `batch(step)` is this host's share of global batch `step`.

  Args:
    source: the split (an `ImageSource`; `ImageArrays` for data held in memory).
    global_batch_size: rows per step over all hosts.
    seed: chooses the order, the dynamic binarisation and the flips.
    binarize: 'none', 'dynamic' (a new Bernoulli draw per use) or 'static' (one per image).
    random_flip: mirror each image left-right with probability 1/2 (Ho et al., 2020, on
      CIFAR-10).
    process_index, process_count: this host and the number of hosts.
  """

  def __init__(self, source: ImageSource, *, global_batch_size: int, seed: int,
               binarize: str, random_flip: bool = False, process_index: int = 0,
               process_count: int = 1):
    _check_binarize(binarize)
    self._order = StepOrder(len(source), global_batch_size=global_batch_size, seed=seed,
                            process_index=process_index, process_count=process_count,
                            name=f'{source.name} {source.split}')
    self._source = source
    self.split = source.split
    self.num_examples = len(source)
    self.global_batch_size = global_batch_size
    self.steps_per_epoch = self._order.steps_per_epoch
    self._seed = seed
    self._binarize = binarize
    self._random_flip = random_flip
    # Small sources in memory are binarised once up front; a static draw per image of a
    # source read on demand is keyed by the image's row instead.
    self._static = None
    if binarize == 'static' and isinstance(source, ImageArrays):
      self._static = binarize_static(to_unit_interval(source.images), seed)

  def rows(self, step: int) -> np.ndarray:
    """Indices into the split of this host's rows of global batch `step`."""
    return self._order.rows(step)

  def batch(self, step: int) -> dict[str, np.ndarray]:
    rows = self.rows(step)
    images, labels = self._source.read(rows, parallel_chunk=64)
    image = to_unit_interval(images)
    host = self._order.host_rows
    if self._static is not None:
      image = self._static[rows]
    elif self._binarize == 'static':
      u = np.stack([np.random.default_rng([self._seed, 2, int(r)]).random(
          image.shape[1:], dtype=np.float32) for r in rows])
      image = (u < image).astype(np.float32)
    elif self._binarize == 'dynamic':
      # Draw for the whole global batch so the result is independent of the host layout.
      u = np.random.default_rng([self._seed, 1, step]).random(
          (self.global_batch_size,) + image.shape[1:], dtype=np.float32)[host]
      image = (u < image).astype(np.float32)
    if self._random_flip:
      flip = np.random.default_rng([self._seed, 3, step]).random(self.global_batch_size)[host]
      image = np.where(flip[:, None, None, None] < 0.5, image[:, :, ::-1], image)
    return {'image': image, 'label': labels}


def eval_batches(source: ImageSource, *, global_batch_size: int, binarize: str,
                 process_index: int = 0, process_count: int = 1,
                 max_examples: int = 0) -> Iterator[dict[str, np.ndarray]]:
  """This host's share of every evaluation batch, the last one padded, with a 0/1 `mask`.

  Binarised data (dynamic or static in training) is binarised once with a fixed seed,
  so every evaluation of every run sees the same test set. A source read on demand is
  read batch by batch, each host its own rows.
  """
  _check_binarize(binarize)
  rows = local_slice(global_batch_size, process_index, process_count)
  n = min(len(source), max_examples) if max_examples else len(source)
  if isinstance(source, ImageArrays):
    images, labels = eval_images(source, binarize=binarize, max_examples=max_examples)
    read = lambda start, stop: {'image': images[start:stop], 'label': labels[start:stop]}
  else:

    def read(start, stop):
      if stop <= start:
        return {'image': np.zeros((0,) + tuple(source.image_shape), np.float32),
                'label': np.zeros(0, np.int32)}
      images, labels = source.read(np.arange(start, stop), parallel_chunk=64)
      images = to_unit_interval(images)
      if binarize != 'none':  # one fixed draw per test image, keyed by its row
        u = np.stack([np.random.default_rng([_EVAL_BINARIZATION_SEED, i]).random(
            images.shape[1:], dtype=np.float32) for i in range(start, stop)])
        images = (u < images).astype(np.float32)
      return {'image': images, 'label': labels}

  return PaddedBatches(read, n, global_batch_size, rows)


def eval_images(arrays: ImageArrays, *, binarize: str, max_examples: int = 0
                ) -> tuple[np.ndarray, np.ndarray]:
  """(images in [0, 1], labels) exactly as every evaluation sees them: binarised data is
  binarised once, with the fixed evaluation seed."""
  _check_binarize(binarize)
  images, labels = arrays.images, arrays.labels
  if max_examples:
    images, labels = images[:max_examples], labels[:max_examples]
  images = to_unit_interval(images)
  if binarize != 'none':
    images = binarize_static(images, _EVAL_BINARIZATION_SEED)
  return images, labels
