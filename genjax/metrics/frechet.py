"""The Fréchet distance between Gaussians fitted to two feature sets (Heusel et al., 2017).

  d^2 = ||mu_1 - mu_2||^2 + Tr(S_1 + S_2 - 2 (S_1 S_2)^{1/2})

FID uses Inception features; genjax works offline, so its features are the penultimate
layer of its own Fashion-MNIST classifier (`genjax.models.classifier`, trained by the
'classifier' family). Scores are therefore comparable between genjax runs scored with the
same classifier checkpoint, not with published FIDs.

Tr((S_1 S_2)^{1/2}) is computed as the sum of square roots of the eigenvalues of the
symmetric PSD matrix S_1^{1/2} S_2 S_1^{1/2} (same eigenvalues as S_1 S_2), in float64,
which avoids the complex round-off of a general matrix square root and is symmetric.
"""

from __future__ import annotations

import dataclasses
from typing import Callable

import numpy as np


def feature_statistics(features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
  """Mean [D] and unbiased covariance [D, D] of features [N, D], float64."""
  f = np.asarray(features, np.float64)
  if f.ndim != 2 or f.shape[0] < 2:
    raise ValueError(f'Need features [N >= 2, D], got shape {f.shape}.')
  return f.mean(0), np.cov(f, rowvar=False).reshape(f.shape[1], f.shape[1])


def _psd_sqrt(s: np.ndarray) -> np.ndarray:
  w, v = np.linalg.eigh((s + s.T) / 2)
  return (v * np.sqrt(np.clip(w, 0.0, None))) @ v.T


def frechet_distance(mu1: np.ndarray, sigma1: np.ndarray, mu2: np.ndarray,
                     sigma2: np.ndarray) -> float:
  """Squared Fréchet (2-Wasserstein) distance between N(mu1, sigma1) and N(mu2, sigma2)."""
  mu1, mu2 = np.asarray(mu1, np.float64), np.asarray(mu2, np.float64)
  s1, s2 = np.asarray(sigma1, np.float64), np.asarray(sigma2, np.float64)
  root1 = _psd_sqrt(s1)
  inner = root1 @ s2 @ root1
  tr_sqrt = np.sum(np.sqrt(np.clip(np.linalg.eigvalsh((inner + inner.T) / 2), 0.0, None)))
  d2 = np.sum((mu1 - mu2) ** 2) + np.trace(s1) + np.trace(s2) - 2.0 * tr_sqrt
  return float(max(d2, 0.0))


def frechet_distance_from_features(a: np.ndarray, b: np.ndarray) -> float:
  return frechet_distance(*feature_statistics(a), *feature_statistics(b))


@dataclasses.dataclass
class FrechetScorer:
  """Scores image sets against reference statistics in a fixed feature space.

  features_fn: images [N, H, W, 1] in [0, 1] -> features [N, D] (e.g.
  `genjax.evals.classifier_features.load_feature_fn(workdir)`); the reference statistics
  are of `reference_images` (typically the test set).
  """
  features_fn: Callable[[np.ndarray], np.ndarray]
  reference_images: np.ndarray
  batch_size: int = 500

  def __post_init__(self):
    self.reference = feature_statistics(self.features(self.reference_images))

  def features(self, images: np.ndarray) -> np.ndarray:
    images = np.asarray(images, np.float32)
    return np.concatenate([np.asarray(self.features_fn(images[i:i + self.batch_size]))
                           for i in range(0, len(images), self.batch_size)])

  def __call__(self, images: np.ndarray) -> float:
    return frechet_distance(*feature_statistics(self.features(images)), *self.reference)
