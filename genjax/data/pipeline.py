"""Batches as a pure function of (seed, step): deterministic, sharded by host, resumable.

Because batch `s` depends only on the seed and `s`, the data position saved in a
checkpoint is just the next step, and a resumed run continues the same stream. Each
host materialises only its own slice of every global batch, and the slice boundaries
do not change what the global batch is, so one host and two hosts see the same data.
"""

from __future__ import annotations

import functools
from typing import Iterator

import numpy as np

from genjax.data.sources import ImageArrays

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
    raise ValueError(f"Unknown binarization '{binarize}'; use one of {BINARIZATIONS} "
                     'with --config.data.binarize.')


def local_slice(global_size: int, process_index: int, process_count: int) -> slice:
  if global_size % process_count:
    raise ValueError(f'Batch size {global_size} does not divide over {process_count} hosts; '
                     f'set --config.batch_size to a multiple of {process_count}.')
  per_host = global_size // process_count
  return slice(process_index * per_host, (process_index + 1) * per_host)


class TrainStream:
  """Shuffled training batches; `batch(step)` is this host's share of global batch `step`."""

  def __init__(self, arrays: ImageArrays, *, global_batch_size: int, seed: int,
               binarize: str, process_index: int = 0, process_count: int = 1):
    _check_binarize(binarize)
    self.split = arrays.split
    self.num_examples = len(arrays.images)
    if global_batch_size > self.num_examples:
      raise ValueError(f'batch_size={global_batch_size} exceeds the {self.num_examples} '
                       f'{arrays.split} examples of {arrays.name}.')
    self.global_batch_size = global_batch_size
    self.steps_per_epoch = self.num_examples // global_batch_size
    self._rows = local_slice(global_batch_size, process_index, process_count)
    self._seed = seed
    self._binarize = binarize
    images = to_unit_interval(arrays.images)
    self._images = binarize_static(images, seed) if binarize == 'static' else images
    self._labels = arrays.labels

  @functools.lru_cache(maxsize=2)
  def _permutation(self, epoch: int) -> np.ndarray:
    return np.random.default_rng([self._seed, epoch]).permutation(self.num_examples)

  def batch(self, step: int) -> dict[str, np.ndarray]:
    epoch, i = divmod(step, self.steps_per_epoch)
    b = self.global_batch_size
    rows = self._permutation(epoch)[i * b:(i + 1) * b][self._rows]
    image = self._images[rows]
    if self._binarize == 'dynamic':
      # Draw for the whole global batch so the result is independent of the host layout.
      u = np.random.default_rng([self._seed, 1, step]).random(
          (b,) + image.shape[1:], dtype=np.float32)[self._rows]
      image = (u < image).astype(np.float32)
    return {'image': image, 'label': self._labels[rows]}

  def stacked(self, first_step: int, num_steps: int) -> dict[str, np.ndarray]:
    """Batches for steps first_step .. first_step+num_steps-1, stacked on a leading axis."""
    batches = [self.batch(s) for s in range(first_step, first_step + num_steps)]
    return {k: np.stack([b[k] for b in batches]) for k in batches[0]}


def eval_batches(arrays: ImageArrays, *, global_batch_size: int, binarize: str,
                 process_index: int = 0, process_count: int = 1,
                 max_examples: int = 0) -> Iterator[dict[str, np.ndarray]]:
  """This host's share of every evaluation batch, the last one padded, with a 0/1 `mask`.

  Binarised data (dynamic or static in training) is binarised once with a fixed seed,
  so every evaluation of every run sees the same test set.
  """
  _check_binarize(binarize)
  rows = local_slice(global_batch_size, process_index, process_count)
  images = to_unit_interval(arrays.images)
  labels = arrays.labels
  if max_examples:
    images, labels = images[:max_examples], labels[:max_examples]
  if binarize != 'none':
    images = binarize_static(images, _EVAL_BINARIZATION_SEED)
  n = len(images)
  for start in range(0, n, global_batch_size):
    stop = min(start + global_batch_size, n)
    pad = global_batch_size - (stop - start)
    image = np.concatenate([images[start:stop], np.zeros((pad,) + images.shape[1:], np.float32)])
    label = np.concatenate([labels[start:stop], np.zeros((pad,), labels.dtype)])
    mask = np.concatenate([np.ones(stop - start, np.float32), np.zeros(pad, np.float32)])
    yield {'image': image[rows], 'label': label[rows], 'mask': mask[rows]}
