"""The mean and covariance of features arriving in batches, accumulated in float64.

FID's statistics are of 50,000 samples' 2048-d features: computed a batch at a time, never
holding the features, with sums in float64 so that the covariance of features whose mean
is far from zero keeps its precision (float32 sums of squares lose it).
"""

from __future__ import annotations

import numpy as np


class FeatureMoments:
  """Running sums of features [B, D]; `mean` and the unbiased `covariance` of all rows."""

  def __init__(self, dims: int):
    self.count = 0
    self._sum = np.zeros(dims, np.float64)
    self._outer = np.zeros((dims, dims), np.float64)
    # Sums are taken about the first batch's mean: the covariance is then a difference of
    # small numbers rather than of two large ones.
    self._shift = None

  def add(self, features) -> None:
    f = np.asarray(features, np.float64)
    if f.ndim != 2 or f.shape[1] != len(self._sum):
      raise ValueError(f'Features must be [B, {len(self._sum)}], got shape {f.shape}.')
    if self._shift is None:
      self._shift = f.mean(0)
    f = f - self._shift
    self.count += len(f)
    self._sum += f.sum(0)
    self._outer += f.T @ f

  def mean(self) -> np.ndarray:
    return self._shift + self._sum / self.count

  def covariance(self) -> np.ndarray:
    if self.count < 2:
      raise ValueError(f'A covariance needs at least 2 rows; {self.count} were added.')
    centred = self._sum / self.count
    return (self._outer - self.count * np.outer(centred, centred)) / (self.count - 1)
