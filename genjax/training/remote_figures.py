"""A family's figures for a workdir that is not local (gs://, s3://): matplotlib writes
local files only, so they are drawn in a local mirror of the workdir and copied up."""

from __future__ import annotations

import os
from typing import Callable

from etils import epath


def render(render_figures: Callable[[str, str], list[str]], workdir: epath.PathLike,
           npz_name: str, mirror: str) -> list[str]:
  """Draws `render_figures` of `<workdir>/artifacts/<npz_name>`; returns the PNGs' paths
  in `<workdir>/figures`.

  A family's figures may read more of the run than one npz (the GAN's samples over
  training read every earlier step's, its curves metrics.jsonl), so `mirror`, a local
  directory kept for the whole run, holds the workdir's artifacts, laid out as there: each
  fetched once, the one drawn now and metrics.jsonl fetched afresh.
  """
  workdir = epath.Path(workdir)
  artifacts = os.path.join(mirror, 'artifacts')
  os.makedirs(artifacts, exist_ok=True)
  for remote in (workdir / 'artifacts').glob('*.npz'):
    local = os.path.join(artifacts, remote.name)
    if remote.name == npz_name or not os.path.exists(local):
      remote.copy(local, overwrite=True)
  if (workdir / 'metrics.jsonl').exists():
    (workdir / 'metrics.jsonl').copy(os.path.join(mirror, 'metrics.jsonl'), overwrite=True)
  figures = os.path.join(mirror, 'figures')
  uploaded = []
  for png in render_figures(os.path.join(artifacts, npz_name), figures):
    target = workdir / 'figures' / os.path.relpath(png, figures)
    target.parent.mkdir(parents=True, exist_ok=True)
    epath.Path(png).copy(target, overwrite=True)
    uploaded.append(os.fspath(target))
  return uploaded
