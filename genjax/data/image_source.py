"""One split of an image dataset read by index: what the streams and evaluations read.

A source holds only what it needs to find row i (a TFDS data source, a file list, two
photographs), so a host reads its own rows of each batch and never a whole split. The
in-memory `ImageArrays` (genjax.data.sources) is a source too. The others' `images`
and `labels` (`ReadOnDemand`) are read when sliced: a figure of the first test images
reads those, and only a consumer of the whole split (the reference of a Fréchet
distance) reads it all.
"""

from __future__ import annotations

import concurrent.futures
import os

import numpy as np


def _read_pool() -> concurrent.futures.ThreadPoolExecutor:
  return concurrent.futures.ThreadPoolExecutor(max_workers=min(8, os.cpu_count() or 1),
                                               thread_name_prefix='genjax-decode')


_POOL = None


def decode_pool() -> concurrent.futures.ThreadPoolExecutor:
  """The threads that decode rows in parallel (image decoders release the GIL)."""
  global _POOL
  if _POOL is None:
    _POOL = _read_pool()
  return _POOL


class ImageSource:
  """Rows of uint8 [H, W, C] images in 0..255 with int32 labels, by index.

  A subclass sets `name`, `split`, `source` (where it reads from, for messages),
  `num_classes` (0: unlabelled, labels are 0) and `image_shape`, and defines `__len__` and
  `read_rows`.
  """

  name: str
  split: str
  source: str
  num_classes: int
  image_shape: tuple[int, int, int]

  def __len__(self) -> int:
    raise NotImplementedError

  def read_rows(self, indices: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(uint8 [n, H, W, C], int32 [n]) of the rows `indices`, in that order."""
    raise NotImplementedError

  def read(self, indices, parallel_chunk: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """`read_rows`, split over the decode threads in chunks of `parallel_chunk` rows."""
    indices = np.asarray(indices, np.int64)
    if not parallel_chunk or len(indices) <= parallel_chunk:
      return self.read_rows(indices)
    chunks = [indices[i:i + parallel_chunk] for i in range(0, len(indices), parallel_chunk)]
    parts = list(decode_pool().map(self.read_rows, chunks))
    return (np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts]))


class ReadOnDemand(ImageSource):
  """A source that holds no pixels: `images` and `labels` read the rows a consumer slices
  (the first 8 test images for a figure), and the whole split only when one asks for all."""

  @property
  def images(self) -> 'Rows':
    return Rows(self, 0)

  @property
  def labels(self) -> 'Rows':
    return Rows(self, 1)


class Rows:
  """The images (column 0) or labels (1) of a source as an array read when indexed."""

  def __init__(self, source: ImageSource, column: int):
    self._source, self._column = source, column
    self.shape = (len(source),) + (tuple(source.image_shape) if column == 0 else ())
    self.dtype = np.dtype(np.uint8 if column == 0 else np.int32)
    self.ndim = len(self.shape)

  def __len__(self) -> int:
    return self.shape[0]

  def __getitem__(self, key):
    if isinstance(key, slice):
      return self._read(np.arange(*key.indices(len(self))))
    if np.ndim(key) == 0 and not isinstance(key, tuple):
      return self._read(np.asarray([int(key) % len(self)]))[0]
    if isinstance(key, tuple):  # rows first, then the rest in memory
      return self[key[0]][(slice(None),) + key[1:]]
    return self._read(np.asarray(key))

  def _read(self, indices: np.ndarray) -> np.ndarray:
    return self._source.read(indices, parallel_chunk=256)[self._column]

  def __array__(self, dtype=None, copy=None):
    del copy
    whole = self[:]
    return whole if dtype is None else whole.astype(dtype)

  def astype(self, dtype) -> np.ndarray:
    return np.asarray(self, dtype)


class RowSubset(ReadOnDemand):
  """Rows `start`..`stop` of another source, under a new split name (a held-out set)."""

  def __init__(self, parent: ImageSource, start: int, stop: int, split: str):
    self._parent, self._start, self._stop = parent, start, stop
    self.name, self.split, self.source = parent.name, split, parent.source
    self.num_classes, self.image_shape = parent.num_classes, parent.image_shape

  def __len__(self) -> int:
    return self._stop - self._start

  def read_rows(self, indices):
    return self._parent.read_rows(np.asarray(indices, np.int64) + self._start)


def centre_crop_resize(image: np.ndarray, crop: int, size: int) -> np.ndarray:
  """The central crop x crop square (the largest square when crop is 0), resized to
  size x size with PIL's antialiased bicubic filter (no resize when it already fits)."""
  h, w = image.shape[:2]
  side = min(h, w) if not crop else min(crop, h, w)
  top, left = (h - side) // 2, (w - side) // 2
  image = image[top:top + side, left:left + side]
  if side == size:
    return image
  from PIL import Image  # pylint: disable=g-import-not-at-top
  squeeze = image.shape[-1] == 1
  pil = Image.fromarray(image[..., 0] if squeeze else image)
  out = np.asarray(pil.resize((size, size), Image.Resampling.BICUBIC))
  return out[..., None] if squeeze else out
