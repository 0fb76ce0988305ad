"""Reads MNIST-format IDX files, plain or gzipped (LeCun's format, used by Fashion-MNIST too)."""

from __future__ import annotations

import gzip
import os

import numpy as np

_DTYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: np.dtype('>i2'), 0x0C: np.dtype('>i4'),
           0x0D: np.dtype('>f4'), 0x0E: np.dtype('>f8')}

# The file stems of every MNIST-format release, by split.
IDX_FILES = {
    'train': ('train-images-idx3-ubyte', 'train-labels-idx1-ubyte'),
    'test': ('t10k-images-idx3-ubyte', 't10k-labels-idx1-ubyte'),
}


def read_idx(path: str) -> np.ndarray:
  """Returns the array stored in one IDX file."""
  opener = gzip.open if path.endswith('.gz') else open
  with opener(path, 'rb') as f:
    data = f.read()
  if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] not in _DTYPES:
    raise ValueError(f'{path} is not an IDX file (bad magic number {data[:4]!r}).')
  dtype, ndim = np.dtype(_DTYPES[data[2]]), data[3]
  shape = tuple(int.from_bytes(data[4 + 4 * i:8 + 4 * i], 'big') for i in range(ndim))
  body = np.frombuffer(data, dtype=dtype, offset=4 + 4 * ndim)
  if body.size != int(np.prod(shape)):
    raise ValueError(f'{path} is truncated: header says {shape}, found {body.size} values.')
  return body.reshape(shape).astype(dtype.newbyteorder('='))


def find_idx_file(directory: str, stem: str) -> str | None:
  for name in (stem, stem + '.gz', stem.replace('-idx', '.idx'), stem.replace('-idx', '.idx') + '.gz'):
    path = os.path.join(directory, name)
    if os.path.exists(path):
      return path
  return None


def read_idx_split(directory: str, split: str) -> tuple[np.ndarray, np.ndarray] | None:
  """(images [N, H, W] uint8, labels [N]) for `split`, or None if the files are not there."""
  paths = [find_idx_file(directory, stem) for stem in IDX_FILES[split]]
  if None in paths:
    return None
  return read_idx(paths[0]), read_idx(paths[1])
