"""32x32 colour patches of natural photographs: density modelling's classic offline data.

Patches of natural images are a standard density-modelling set (the BSDS300 patches of
Germain et al., 2015, MADE, and Papamakarios et al., 2017, MAF). This machine cannot
download CIFAR-10, so the colour runs that must happen here read patches of the two
photographs scikit-learn ships (`sklearn.datasets.load_sample_images`: a Chinese temple
and a flower, 427x640 RGB each). The train split cuts patches from the left three
quarters of each photograph at a stride of 2 pixels, the test split from the right
quarter at a stride of 8, so no test pixel is ever trained on. The label is the
photograph.

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
_TRAIN_FRACTION = 0.75
_STRIDES = {'train': 2, 'test': 8}


@functools.lru_cache(maxsize=1)
def _photographs() -> tuple[np.ndarray, ...]:
  from sklearn.datasets import load_sample_images  # pylint: disable=g-import-not-at-top
  return tuple(np.asarray(im, np.uint8) for im in load_sample_images().images)


class NaturalPatches(ReadOnDemand):
  """One split of the patches; row i is a (photograph, top, left) of a fixed grid."""

  def __init__(self, split: str):
    self.name, self.split = 'natural_patches', split
    self.source = 'sklearn.datasets.load_sample_images'
    self.num_classes, self.image_shape = 2, (PATCH, PATCH, 3)
    stride, corners = _STRIDES[split], []
    for photo, image in enumerate(_photographs()):
      h, w = image.shape[:2]
      cut = int(w * _TRAIN_FRACTION)
      left_lo, left_hi = (0, cut - PATCH) if split == 'train' else (cut, w - PATCH)
      tops, lefts = np.arange(0, h - PATCH + 1, stride), np.arange(left_lo, left_hi + 1, stride)
      grid = np.stack(np.meshgrid(tops, lefts, indexing='ij'), -1).reshape(-1, 2)
      corners.append(np.concatenate([np.full((len(grid), 1), photo), grid], axis=1))
    self._corners = np.concatenate(corners).astype(np.int64)

  def __len__(self) -> int:
    return len(self._corners)

  def read_rows(self, indices):
    photos = _photographs()
    rows = self._corners[np.asarray(indices, np.int64)]
    images = np.stack([photos[p][t:t + PATCH, l:l + PATCH] for p, t, l in rows])
    return images, rows[:, 0].astype(np.int32)
