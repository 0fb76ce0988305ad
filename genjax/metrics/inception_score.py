"""The Inception Score (Salimans et al., 2016): exp E_x KL(p(y|x) || p(y)), over splits.

The samples are cut into `splits` equal parts (10 in the paper and in every reference
implementation since); each part's score uses its own marginal p(y), and the result is
the mean and standard deviation over the parts. p(y|x) is the softmax of the FID Inception
network's 1008 logits (`genjax.models.inception`), as in the paper's code.
"""

from __future__ import annotations

import numpy as np
from scipy.special import log_softmax


def inception_score(logits: np.ndarray, splits: int = 10) -> tuple[float, float]:
  """(mean, standard deviation) over `splits` parts of exp(mean KL(p(y|x) || p(y))).

  Args:
    logits: [N, C] class logits of N samples; N must be at least `splits`.
    splits: parts; the remainder of N after equal parts is left out, as in the paper's code.
  """
  logits = np.asarray(logits, np.float64)
  if logits.ndim != 2 or len(logits) < splits:
    raise ValueError(f'Need logits [N >= {splits}, C], got shape {logits.shape}.')
  log_p = log_softmax(logits, axis=1)
  size = len(log_p) // splits
  scores = []
  for part in np.split(log_p[:size * splits], splits):
    log_marginal = np.log(np.mean(np.exp(part), axis=0))
    kl = np.sum(np.exp(part) * (part - log_marginal), axis=1)
    scores.append(np.exp(np.mean(kl)))
  return float(np.mean(scores)), float(np.std(scores))
