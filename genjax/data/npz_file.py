"""Arrays stored as one .npz that a reader sees whole or not at all."""

from __future__ import annotations

import os
from typing import Mapping

import numpy as np


def write_atomically(path: str, arrays: Mapping[str, np.ndarray]) -> None:
  """Writes `arrays` to the .npz `path` through a temporary file renamed over it, so a
  reader (another host, a run started meanwhile) sees the old file or the whole new one;
  a failed write leaves no partial file. Its directory is made if missing."""
  os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
  tmp = f'{path}.tmp.{os.getpid()}'
  try:
    with open(tmp, 'wb') as f:
      np.savez(f, **arrays)
      f.flush()
      os.fsync(f.fileno())
    os.replace(tmp, path)
  finally:
    if os.path.exists(tmp):
      os.remove(tmp)
