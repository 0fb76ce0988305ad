"""p(x|y) as a classifier: Bayes' rule on a class-conditional generative model.

  p(y | x) = p(x | y) p(y) / sum_y' p(x | y') p(y'),   predicted y = argmax_y log p(x|y) + log p(y)

A model enters as a scorer, `log_likelihoods(inputs) -> [B, C]`, log p(x|y=c) in nats for
every class (exact, or a lower bound such as IWAE). With a bound, the argmax is that of the
bounds: each class's bound is as tight as the model's posterior under that class.
"""

from __future__ import annotations

from typing import Callable

import numpy as np
from scipy.special import logsumexp

Scorer = Callable[[np.ndarray], np.ndarray]


def class_log_likelihoods(log_likelihoods: Scorer, inputs: np.ndarray, *, batch_size: int,
                          progress: Callable[[int, int], None] | None = None) -> np.ndarray:
  """log p(x_n | y = c) for every input and class: [N, C] float64."""
  parts = []
  for start in range(0, len(inputs), batch_size):
    parts.append(np.asarray(log_likelihoods(inputs[start:start + batch_size]), np.float64))
    if progress is not None:
      progress(start + len(parts[-1]), len(inputs))
  return np.concatenate(parts)


def log_prior(train_labels: np.ndarray, num_classes: int) -> np.ndarray:
  """log p(y) from the training set's class frequencies: [num_classes]."""
  counts = np.bincount(train_labels, minlength=num_classes).astype(np.float64)
  return np.log(counts / counts.sum())


def summarise(log_px_given_y: np.ndarray, labels: np.ndarray, prior: np.ndarray
              ) -> dict[str, float]:
  """Accuracy of the Bayes decision, and the test log-likelihoods it rests on.

  Returns:
    accuracy; log_px_given_true_y, the mean log p(x | y_true); log_px, the mean
    log p(x) = log sum_y p(x|y) p(y), the model's marginal likelihood of the images; and
    mean_true_class_posterior, the mean p(y_true | x).
  """
  joint = log_px_given_y + prior[None]
  log_px = logsumexp(joint, axis=1)
  rows = np.arange(len(labels))
  return {'accuracy': float(np.mean(np.argmax(joint, axis=1) == labels)),
          'log_px_given_true_y': float(np.mean(log_px_given_y[rows, labels])),
          'log_px': float(np.mean(log_px)),
          'mean_true_class_posterior': float(np.mean(np.exp(joint[rows, labels] - log_px))),
          'examples': int(len(labels))}


def least_likely(log_px_given_y: np.ndarray, labels: np.ndarray, count: int) -> np.ndarray:
  """Indices of the `count` inputs with the lowest log p(x | y_true), least likely first."""
  true = log_px_given_y[np.arange(len(labels)), labels]
  return np.argsort(true, kind='stable')[:count]


def confusion(log_px_given_y: np.ndarray, labels: np.ndarray, prior: np.ndarray
              ) -> np.ndarray:
  """[true class, predicted class] counts of the Bayes decision."""
  c = len(prior)
  predicted = np.argmax(log_px_given_y + prior[None], axis=1)
  return np.bincount(labels * c + predicted, minlength=c * c).reshape(c, c)
