"""A run's weights, config and data description as plain files
(`genjax.training.exported`), with the first stage a second stage reads beside them."""

from __future__ import annotations

import os

from etils import epath

from genjax.data import info_file
from genjax.trained.loading import family_def
from genjax.training import exported, restore


def export(path: str, out: str, *, weights: str = 'ema') -> list[str]:
  """Writes the latest checkpoint of the run in `path` (a workdir, or an export) into
  `out`; returns the files written, relative to `out`."""
  if os.path.abspath(path) == os.path.abspath(out):
    raise exported.ExportError(f'--out={out} is the run itself; name another directory.')
  run = restore.load_run(path)
  info = (info_file.read(run.workdir) if info_file.exists(run.workdir)
          else family_def(run.config.family).data(run.config, 0, 1).info)
  written = exported.write(run, out, weights=weights, info=info)
  if run.upstream is not None:
    upstream_out = str(epath.Path(out) / exported.UPSTREAM_DIR)
    written += [f'{exported.UPSTREAM_DIR}/{name}'
                for name in export(run.upstream['workdir'], upstream_out, weights=weights)]
  return written
