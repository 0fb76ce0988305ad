"""Which batch each step reads: step s reads data position s, unless batches were skipped.

A run with `skip_non_finite` that rolled back past a non-finite step skips that step's
batch: the checkpoint lists the skipped positions, and step s reads the (s+1)-th position
not among them, so a resumed run reads the same batches as one that never stopped.
"""

from __future__ import annotations

import bisect
from typing import Sequence

import numpy as np


def data_positions(first_step: int, num_steps: int, skipped: Sequence[int]) -> list[int]:
  """The data positions of steps first_step .. first_step + num_steps - 1."""
  skipped = sorted(skipped)
  out = []
  for s in range(first_step, first_step + num_steps):
    p = s
    while (count := bisect.bisect_right(skipped, p)) > p - s:
      p = s + count
    out.append(p)
  return out


def stacked_batches(stream, first_step: int, num_steps: int,
                    skipped: Sequence[int]) -> tuple[dict[str, np.ndarray], list[int]]:
  """The stream's batches for these steps, stacked on a leading axis, and their positions."""
  positions = data_positions(first_step, num_steps, skipped)
  if positions == list(range(first_step, first_step + num_steps)):
    return stream.stacked(first_step, num_steps), positions
  batches = [stream.batch(p) for p in positions]
  return {key: np.stack([b[key] for b in batches]) for key in batches[0]}, positions
