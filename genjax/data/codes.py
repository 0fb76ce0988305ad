"""Stored code grids: a trained VQ-VAE's integer codes, the data a prior over them learns.

One .npz holds the codes, the labels if any, and a JSON string naming the codebook
size and where the codes came from (the stage-1 run's workdir and signature), so a
prior can check that it reads the codes of the run it means.
"""

from __future__ import annotations

import dataclasses
import json
import os
from typing import Any, Mapping

import numpy as np

from genjax.data import npz_file
from genjax.data.arrays import ArrayStream
from genjax.data.sources import DatasetNotFoundError

FORMAT_VERSION = 1


@dataclasses.dataclass(frozen=True, eq=False)
class CodeGrids:
  """Codes int32 [N, H, W] in 0..num_codes-1, labels int32 [N] or None, and their source."""
  codes: np.ndarray
  labels: np.ndarray | None
  num_codes: int
  source: dict[str, Any]


def _check_codes(codes: np.ndarray, num_codes: int, where: str) -> np.ndarray:
  if codes.ndim != 3 or not np.issubdtype(codes.dtype, np.integer):
    raise ValueError(f'Code grids {where} must be integers [N, H, W], not {codes.dtype} '
                     f'{codes.shape}; store the codebook indices, not the embeddings.')
  if codes.size and (codes.min() < 0 or codes.max() >= num_codes):
    raise ValueError(f'Code grids {where} span {codes.min()}..{codes.max()}, outside '
                     f'0..{num_codes - 1} for num_codes={num_codes}; they come from a '
                     'different codebook, so encode again with the run that has this one.')
  return codes.astype(np.int32)


def save_code_grids(path: str, codes: np.ndarray, labels: np.ndarray | None, *,
                    num_codes: int, source: Mapping[str, Any]) -> None:
  """Writes the grids to `path` atomically: a reader sees the old file or the whole new one.

  Args:
    path: the .npz to write; its directory is made if missing.
    codes: int [N, H, W], each in 0..num_codes-1.
    labels: int [N], or None for unlabelled data.
    num_codes: the codebook size.
    source: JSON-serialisable facts about the codes' origin, e.g. the stage-1 workdir
      and signature.
  """
  codes = _check_codes(np.asarray(codes), num_codes, 'to save')
  arrays = {'codes': codes}
  if labels is not None:
    labels = np.asarray(labels)
    if labels.shape != (len(codes),) or not np.issubdtype(labels.dtype, np.integer):
      raise ValueError(f'labels must be integers [{len(codes)}], one per grid, not '
                       f'{labels.dtype} {labels.shape}; pass None when there are none.')
    arrays['labels'] = labels.astype(np.int32)
  arrays['metadata'] = np.asarray(json.dumps(
      {'format': FORMAT_VERSION, 'num_codes': int(num_codes), 'source': dict(source)}))
  npz_file.write_atomically(path, arrays)


def load_code_grids(path: str, *, make_command: str = '') -> CodeGrids:
  """Reads grids written by `save_code_grids`, checking every code against num_codes.

  Args:
    path: the .npz.
    make_command: the command that writes this file, named in the error when it is missing.
  """
  if not os.path.exists(path):
    remedy = (f'make it with: {make_command}' if make_command else
              'write it with save_code_grids from a trained VQ-VAE run')
    raise DatasetNotFoundError(f'No code grids at {path}; {remedy}.')
  with np.load(path, allow_pickle=False) as data:
    if 'codes' not in data.files or 'metadata' not in data.files:
      raise ValueError(f'{path} holds {data.files}, not code grids; write it with '
                       'save_code_grids.')
    meta = json.loads(str(data['metadata']))
    codes = _check_codes(data['codes'], meta['num_codes'], f'in {path}')
    labels = data['labels'] if 'labels' in data.files else None
  return CodeGrids(codes, labels, meta['num_codes'], meta['source'])


def run_codes_path(workdir: str, step: int, split: str = '') -> str:
  """Where the code grids of a VQ-VAE run's checkpoint at `step` are stored, beside the
  run: <workdir>/codes/step_<step>.npz, or step_<step>_<split>.npz for one split."""
  name = f'step_{step:08d}' + (f'_{split}' if split else '') + '.npz'
  return os.path.join(workdir, 'codes', name)


def code_grid_arrays(grids: CodeGrids) -> dict[str, np.ndarray]:
  """{'codes', 'label'} for a stream or `padded_eval_batches`; labels are 0 when absent."""
  labels = grids.labels if grids.labels is not None else np.zeros(len(grids.codes), np.int32)
  return {'codes': grids.codes, 'label': labels}


def code_grid_stream(grids: CodeGrids, *, global_batch_size: int, seed: int,
                     process_index: int = 0, process_count: int = 1) -> ArrayStream:
  """Shuffled batches of {'codes': int32 [b, H, W], 'label': int32 [b]}."""
  return ArrayStream(code_grid_arrays(grids), global_batch_size=global_batch_size, seed=seed,
                     process_index=process_index, process_count=process_count,
                     name='code grids')
