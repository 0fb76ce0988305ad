"""The standard error of a mean over examples, from what an evaluation accumulates.

The loop averages per-example values over a split (`Family.eval_fn`), so an eval_fn that
also returns each value's square gives the split's mean and mean square, and from them
the sample standard deviation (n - 1 in the denominator) over sqrt(n).
"""

from __future__ import annotations

import math


def standard_error(mean: float, mean_square: float, n: int) -> float:
  """The standard error of the mean of n values with this mean and mean square."""
  n = max(int(n), 1)
  variance = max(mean_square - mean * mean, 0.0) * n / max(n - 1, 1)
  return math.sqrt(variance / n)
