"""Each paradigm's measurements, kept as the table finishes them (`genjax.tools.paradigms`).

At the default sizes a table takes most of an hour on a CPU, a row at a time. Each row's
measurements and its figure's samples are written as soon as the row is measured, under a
key of everything they depend on: the run (its folder, steps and final metrics), the
classifier and the measuring options. A table stopped part-way (a kill, a crash, a
stopped machine) and run again with the same runs and options measures only the rows it had
not finished; a retrained run or changed options measure the row again.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from typing import Any, Mapping

import numpy as np

from genjax.data import npz_file


def key(row: Mapping[str, Any], classifier: str, options: Mapping[str, Any]) -> str:
  """What a row's measurements depend on, as one string."""
  with open(os.path.join(row['workdir'], 'final_metrics.json'), 'rb') as f:
    final = hashlib.sha256(f.read()).hexdigest()
  return json.dumps({'workdir': os.path.realpath(row['workdir']),
                     'train_steps': row['train_steps'], 'final_metrics': final,
                     'classifier': os.path.realpath(classifier), 'options': dict(options)},
                    sort_keys=True)


def path(cache_dir: str, name: str) -> str:
  return os.path.join(cache_dir, re.sub(r'[^A-Za-z0-9]+', '_', name).strip('_') + '.npz')


def read(cache_dir: str, name: str,
         row_key: str) -> tuple[dict[str, Any], np.ndarray] | None:
  """(measurements, samples) kept for the row under `row_key`; None if none are."""
  file = path(cache_dir, name)
  if not os.path.exists(file):
    return None
  with np.load(file) as kept:
    if str(kept['key']) != row_key:
      return None
    return json.loads(str(kept['measured'])), kept['samples']


def write(cache_dir: str, name: str, row_key: str, measured: Mapping[str, Any],
          samples: np.ndarray) -> None:
  npz_file.write_atomically(path(cache_dir, name), {
      'key': np.array(row_key), 'measured': np.array(json.dumps(measured)),
      'samples': np.asarray(samples)})
