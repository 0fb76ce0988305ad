"""The standard error from a split's mean and mean square is the sample one."""

import numpy as np
import pytest

from genjax.metrics.standard_error import standard_error


def test_standard_error_is_the_sample_standard_deviation_over_root_n():
  x = np.random.default_rng(0).normal(3.0, 2.0, 57)
  assert standard_error(x.mean(), np.mean(x ** 2), len(x)) == pytest.approx(
      x.std(ddof=1) / np.sqrt(len(x)), rel=1e-10)
  assert standard_error(5.0, 25.0, 1) == 0.0  # one value: no spread
  assert standard_error(1.0, 1.0 - 1e-12, 10) == 0.0  # rounding below zero is clipped
