"""The Parzen-window log-likelihood of Goodfellow et al. (2014), as their `parzen_ll.py`.

A generator's samples s_1..s_M become the centres of an isotropic Gaussian kernel density,

    log p(x) = log (1/M) sum_i N(x; s_i, sigma^2 I)
             = logmeanexp_i(-||x - s_i||^2 / (2 sigma^2)) - D log(sigma sqrt(2 pi)),

with sigma chosen from a grid by the mean log-likelihood of held-out validation images,
then reported on the test set as mean ± standard error (std / sqrt(N)). Float64 NumPy:
the squared distances of one chunk of images to every sample are computed once and
reused for every sigma of the grid.

The estimate is known to be poor (Theis, van den Oord & Bethge, 2016): in 784 dimensions
a kernel density of 10,000 points is far from any model's density, its value is dominated
by the nearest sample, it rewards memorising training images, and it can rank a model
below a k-means of the data. genjax reports it to compare with the papers' tables, beside
the Fréchet distance, not as a likelihood.
"""

from __future__ import annotations

import numpy as np

CHUNK = 1000
GOODFELLOW_SIGMAS = tuple(np.logspace(-1, 0, 10))


def _logsumexp(a: np.ndarray) -> np.ndarray:
  top = np.max(a, axis=1, keepdims=True)
  return top[:, 0] + np.log(np.sum(np.exp(a - top), axis=1))


def _squared_distances(x: np.ndarray, samples: np.ndarray, samples_sq: np.ndarray
                       ) -> np.ndarray:
  d2 = np.sum(x * x, axis=1)[:, None] + samples_sq[None, :] - 2.0 * x @ samples.T
  return np.maximum(d2, 0.0)


def log_likelihoods(x: np.ndarray, samples: np.ndarray, sigmas) -> np.ndarray:
  """log p(x) under the kernel density of `samples` [M, ...] for each image of x [N, ...]
  and each sigma: [len(sigmas), N], in nats."""
  x = np.asarray(x, np.float64).reshape(len(x), -1)
  s = np.asarray(samples, np.float64).reshape(len(samples), -1)
  if x.shape[1] != s.shape[1]:
    raise ValueError(f'Images of {x.shape[1]} values against samples of {s.shape[1]}.')
  sigmas = np.asarray(sigmas, np.float64).reshape(-1)
  s_sq = np.sum(s * s, axis=1)
  dims, m = x.shape[1], len(s)
  out = np.empty((len(sigmas), len(x)))
  for start in range(0, len(x), CHUNK):
    d2 = _squared_distances(x[start:start + CHUNK], s, s_sq)
    for j, sigma in enumerate(sigmas):
      out[j, start:start + CHUNK] = (_logsumexp(-d2 / (2.0 * sigma ** 2)) - np.log(m)
                                     - dims * np.log(sigma * np.sqrt(2.0 * np.pi)))
  return out


def choose_sigma(validation: np.ndarray, samples: np.ndarray,
                 sigmas=GOODFELLOW_SIGMAS) -> tuple[float, np.ndarray]:
  """(the sigma of the grid with the highest mean validation log-likelihood, the mean
  validation log-likelihood of every sigma)."""
  means = log_likelihoods(validation, samples, sigmas).mean(axis=1)
  return float(np.asarray(sigmas)[int(np.argmax(means))]), means


def score(test: np.ndarray, samples: np.ndarray, sigma: float) -> tuple[float, float]:
  """(mean test log-likelihood, its standard error std / sqrt(N)), in nats."""
  ll = log_likelihoods(test, samples, [sigma])[0]
  return float(ll.mean()), float(ll.std() / np.sqrt(len(ll)))
