"""Mode coverage: how a sample set spreads over the classes a trained classifier sees.

A generator that collapses onto a few modes makes samples the classifier puts in few
classes. The histogram of predicted classes, and its KL divergence to the uniform
distribution (0 for a balanced set, log K when every sample lands in one class), show
collapse as it happens; the same numbers for real images are the floor.
"""

from __future__ import annotations

import numpy as np


def class_histogram(logits: np.ndarray) -> np.ndarray:
  """Fraction of samples [K] that the classifier's argmax puts in each class."""
  logits = np.asarray(logits)
  counts = np.bincount(np.argmax(logits, axis=-1), minlength=logits.shape[-1])
  return counts / max(len(logits), 1)


def kl_to_uniform(fractions: np.ndarray) -> float:
  """KL(p || uniform) = sum_k p_k log(K p_k) in nats, with 0 log 0 = 0."""
  p = np.asarray(fractions, np.float64)
  nonzero = p > 0
  return float(np.sum(p[nonzero] * np.log(len(p) * p[nonzero])))
