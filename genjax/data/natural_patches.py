"""32x32 colour patches of natural photographs: density modelling's classic offline data.

Patches of natural images are a standard density-modelling set (the BSDS300 patches of
Germain et al., 2015, MADE, and Papamakarios et al., 2017, MAF). This machine cannot
download CIFAR-10, so
the colour runs that must happen here read patches of the two photographs scikit-learn
ships (`sklearn.datasets.load_sample_images`: a Chinese temple and a flower, 427x640 RGB
each). Each photograph is cut into vertical bands 64 pixels wide; every fourth band is
test, the rest train, and a patch lies wholly inside one run of bands of its split, so no
test pixel is ever trained on and both splits sample every part of the pictures (sky,
roof, petals, leaves). Train patches are cut at a stride of 2 pixels, test patches at 8;
the test split is in a fixed shuffled order, so its first images (which figures show) are
not all from one corner. The label is the photograph.

How far this is from CIFAR-10: two scenes instead of 60,000 photographs of ten object
classes, patches that overlap (neighbours share most pixels, so the effective number of
examples is far below the row count), and texture more than objects. Bits/dim here are
not comparable with CIFAR-10's; the set exercises the colour path and gives a measured
learning curve.
"""

from __future__ import annotations

import functools

import numpy as np

from genjax.data.image_source import ReadOnDemand

PATCH = 32
_BAND = 64
_TEST_EVERY = 4  # band b is test when b % 4 == 3
_STRIDES = {'train': 2, 'test': 8}


@functools.lru_cache(maxsize=1)
def _photographs() -> tuple[np.ndarray, ...]:
  from sklearn.datasets import load_sample_images  # pylint: disable=g-import-not-at-top
  return tuple(np.asarray(im, np.uint8) for im in load_sample_images().images)


def column_runs(width: int, split: str) -> list[tuple[int, int]]:
  """[start, stop) column intervals of `split`: maximal runs of its bands."""
  runs = []
  for band in range(-(-width // _BAND)):
    is_test = band % _TEST_EVERY == _TEST_EVERY - 1
    if is_test != (split == 'test'):
      continue
    start, stop = band * _BAND, min((band + 1) * _BAND, width)
    if runs and runs[-1][1] == start:
      runs[-1] = (runs[-1][0], stop)
    else:
      runs.append((start, stop))
  return runs


class NaturalPatches(ReadOnDemand):
  """One split of the patches; row i is a (photograph, top, left) of a fixed grid."""

  def __init__(self, split: str):
    self.name, self.split = 'natural_patches', split
    self.source = 'sklearn.datasets.load_sample_images'
    self.num_classes, self.image_shape = 2, (PATCH, PATCH, 3)
    stride, corners = _STRIDES[split], []
    for photo, image in enumerate(_photographs()):
      h, w = image.shape[:2]
      tops = np.arange(0, h - PATCH + 1, stride)
      for start, stop in column_runs(w, split):
        lefts = np.arange(start, stop - PATCH + 1, stride)
        grid = np.stack(np.meshgrid(tops, lefts, indexing='ij'), -1).reshape(-1, 2)
        corners.append(np.concatenate([np.full((len(grid), 1), photo), grid], axis=1))
    corners = np.concatenate(corners).astype(np.int64)
    if split == 'test':
      corners = corners[np.random.default_rng(0).permutation(len(corners))]
    self._corners = corners

  def __len__(self) -> int:
    return len(self._corners)

  def read_rows(self, indices):
    photos = _photographs()
    rows = self._corners[np.asarray(indices, np.int64)]
    images = np.stack([photos[p][t:t + PATCH, l:l + PATCH] for p, t, l in rows])
    return images, rows[:, 0].astype(np.int32)
