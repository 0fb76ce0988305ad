"""Image batches: `ArrayStream` and `padded_eval_batches` with binarisation on top.

Binarisation keeps the streams' promise: every draw is keyed by the seed and the step
(or is fixed once), and is made for the whole global batch before it is split by host.
"""

from __future__ import annotations

from typing import Iterator

import numpy as np

from genjax.data.arrays import ArrayStream, StepStream, padded_eval_batches
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
  """Shuffled training images; `batch(step)` is this host's share of global batch `step`."""

  def __init__(self, arrays: ImageArrays, *, global_batch_size: int, seed: int,
               binarize: str, process_index: int = 0, process_count: int = 1):
    _check_binarize(binarize)
    images = to_unit_interval(arrays.images)
    if binarize == 'static':
      images = binarize_static(images, seed)
    self._rows = ArrayStream({'image': images, 'label': arrays.labels},
                             global_batch_size=global_batch_size, seed=seed,
                             process_index=process_index, process_count=process_count,
                             name=f'{arrays.name} {arrays.split}')
    self.split = arrays.split
    self.num_examples = self._rows.num_examples
    self.global_batch_size = global_batch_size
    self.steps_per_epoch = self._rows.steps_per_epoch
    self._seed = seed
    self._binarize = binarize

  def batch(self, step: int) -> dict[str, np.ndarray]:
    batch = self._rows.batch(step)
    if self._binarize == 'dynamic':
      image = batch['image']
      # Draw for the whole global batch so the result is independent of the host layout.
      u = np.random.default_rng([self._seed, 1, step]).random(
          (self.global_batch_size,) + image.shape[1:], dtype=np.float32)[self._rows.host_rows]
      batch['image'] = (u < image).astype(np.float32)
    return batch


def eval_batches(arrays: ImageArrays, *, global_batch_size: int, binarize: str,
                 process_index: int = 0, process_count: int = 1,
                 max_examples: int = 0) -> Iterator[dict[str, np.ndarray]]:
  """This host's share of every evaluation batch, the last one padded, with a 0/1 `mask`.

  Binarised data (dynamic or static in training) is binarised once with a fixed seed,
  so every evaluation of every run sees the same test set.
  """
  images, labels = eval_images(arrays, binarize=binarize, max_examples=max_examples)
  return padded_eval_batches({'image': images, 'label': labels},
                             global_batch_size=global_batch_size,
                             process_index=process_index, process_count=process_count)


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
