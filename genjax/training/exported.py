"""A trained run as plain files, for sharing without Orbax or the optimiser state.

    <dir>/model.json          family, signature, step, whether the run had finished, which
                              weights these are, the upstream run's record
    <dir>/config.json         the run's config
    <dir>/params.safetensors  the weights (EMA by default), keys joined by '/'
    <dir>/model_state.safetensors   BatchNorm statistics and the like, when the run kept any
    <dir>/data_info.json      what the model knows of its data (`genjax.data.info_file`)
    <dir>/upstream/           the same, for the first stage a second stage reads

`restore.load_run` reads such a directory as it reads a workdir, so everything that reads
trained runs (`genjax.load` and the tools that use it, a second stage's first stage) takes
either.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
from etils import epath
from flax import traverse_util
from safetensors import numpy as safetensors_numpy

from genjax.data import info_file
from genjax.errors import UserError

MODEL_NAME, CONFIG_NAME = 'model.json', 'config.json'
PARAMS_NAME, MODEL_STATE_NAME = 'params.safetensors', 'model_state.safetensors'
UPSTREAM_DIR = 'upstream'
FORMAT = 1


class ExportError(ValueError, UserError):
  """An export directory with a missing, unreadable or mismatched file."""


def is_export(directory: str) -> bool:
  return (epath.Path(directory) / MODEL_NAME).exists()


def _flatten(tree) -> tuple[dict[str, np.ndarray], list[str]]:
  """({'a/b': array}, paths of empty dicts) of a nested dict of arrays."""
  flat = traverse_util.flatten_dict(tree, keep_empty_nodes=True, sep='/')
  # np.array copies into C order and, unlike np.ascontiguousarray, keeps scalars 0-d.
  arrays = {k: np.array(v, order='C') for k, v in flat.items()
            if v is not traverse_util.empty_node}
  empty = [k for k, v in flat.items() if v is traverse_util.empty_node]
  return arrays, empty


def write_tree(tree, path: epath.Path) -> None:
  arrays, empty = _flatten(tree)
  path.write_bytes(safetensors_numpy.save(arrays, metadata={'empty': json.dumps(empty)}))


def read_tree(path: epath.Path) -> Any:
  data = path.read_bytes()
  arrays = safetensors_numpy.load(data)
  metadata = _metadata(data)
  flat: dict[str, Any] = dict(arrays)
  for key in json.loads(metadata.get('empty', '[]')):
    flat[key] = {}
  return traverse_util.unflatten_dict(flat, sep='/')


def _metadata(data: bytes) -> dict[str, str]:
  # A safetensors file starts with the length of its JSON header, little-endian u64.
  size = int.from_bytes(data[:8], 'little')
  return json.loads(data[8:8 + size]).get('__metadata__') or {}


def write(run, out: str, *, weights: str = 'ema', info=None) -> list[str]:
  """Writes `run` (a `restore.SavedRun`) into `out`; returns the files written. A second
  stage's first stage is written into `out/upstream` by the caller (`write` again), and
  its record here points there.

  Args:
    run: the run.
    out: the directory; created if missing, its files replaced.
    weights: 'ema' writes the EMA params where the run kept them (else the trained ones);
      'trained' writes the trained params.
    info: the run's `DataInfo`; read from its workdir when None.
  """
  if weights not in ('ema', 'trained'):
    raise ExportError(f"weights={weights!r}; choose 'ema' or 'trained'.")
  out_path = epath.Path(out)
  out_path.mkdir(parents=True, exist_ok=True)
  ema = weights == 'ema' and run.ema_params is not None
  written = [PARAMS_NAME, CONFIG_NAME, info_file.JSON_NAME, MODEL_NAME]
  write_tree(run.ema_params if ema else run.params, out_path / PARAMS_NAME)
  if run.model_state is not None:
    write_tree(run.model_state, out_path / MODEL_STATE_NAME)
    written.append(MODEL_STATE_NAME)
  (out_path / CONFIG_NAME).write_text(run.config.to_json(indent=2))
  info_file.write(info if info is not None else info_file.read(run.workdir), out)
  upstream = dict(run.upstream) if run.upstream else None
  if upstream is not None:
    upstream['workdir'] = UPSTREAM_DIR
  record = {'format': FORMAT, 'family': run.config.family, 'signature': dict(run.signature),
            'step': run.step, 'finished': run.finished,
            'weights': 'ema' if ema else 'trained', 'upstream': upstream,
            'model_state': run.model_state is not None}
  (out_path / MODEL_NAME).write_text(json.dumps(record, indent=2))
  return written


def read(directory: str) -> dict[str, Any]:
  """The parts of an export: {'record', 'config', 'params', 'model_state'}; ExportError in
  one line naming the file when one is missing or does not match the others."""
  path = epath.Path(directory)
  for name in (MODEL_NAME, CONFIG_NAME, PARAMS_NAME, info_file.JSON_NAME):
    if not (path / name).exists():
      raise ExportError(f'{path / name} is missing: {directory} is not a complete genjax '
                        'export; export the run again with python -m genjax.export '
                        f'--workdir=<its workdir> --out={directory}')
  try:
    record = json.loads((path / MODEL_NAME).read_text())
    config = json.loads((path / CONFIG_NAME).read_text())
  except ValueError as e:
    raise ExportError(f'{directory}: {MODEL_NAME} or {CONFIG_NAME} is not JSON ({e}); '
                      'export the run again.') from e
  if record.get('family') != config.get('family'):
    raise ExportError(f'{path / MODEL_NAME} names family {record.get("family")!r} but '
                      f'{CONFIG_NAME} is a {config.get("family")!r} config: the files come '
                      'from different runs; export the run again into an empty directory.')
  try:
    params = read_tree(path / PARAMS_NAME)
    model_state = (read_tree(path / MODEL_STATE_NAME) if record.get('model_state')
                   else None)
  except FileNotFoundError as e:
    raise ExportError(f'{path / MODEL_STATE_NAME} is missing; export the run again.') from e
  except Exception as e:  # safetensors raises its own error types for a damaged file
    raise ExportError(f'{directory}: a weights file is unreadable ({e}); export the run '
                      'again.') from e
  return {'record': record, 'config': config, 'params': params, 'model_state': model_state}
