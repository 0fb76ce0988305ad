"""Where a workdir lives: a local directory, or an object store that etils.epath reaches
(gs://, s3://, ...). Both are read and written through `epath.Path`; what an object store
cannot do (append, flock, let matplotlib write into it) is done another way where it is
needed, and this says which workdirs need it."""

from __future__ import annotations

import os
import uuid

from etils import epath


def is_local(path) -> bool:
  """Whether `path` is on this machine's filesystem, not behind a URI scheme."""
  return '://' not in os.fspath(path)


def absolute(path) -> str:
  """A local path made absolute (so that it outlives a change of directory); a URI as is,
  which `os.path.abspath` would turn into a local path."""
  return os.path.abspath(path) if is_local(path) else os.fspath(path)


def replace_text(path, text: str) -> None:
  """Writes `text` as the whole of `path`, so that a reader sees the old text or the new,
  never part: locally by a rename; an object store's upload is all or nothing as it is."""
  path = epath.Path(path)
  if not is_local(path):
    path.write_text(text)
    return
  tmp = path.parent / f'{path.name}.{uuid.uuid4().hex}.tmp'  # its own, as writers may race
  tmp.write_text(text)
  tmp.replace(path)


def move_tree(source, target) -> None:
  """Moves the directory `source` to `target`, making target's parent. An object store has
  no folders, so there is no parent to make and none that epath's rename would find:
  there the objects are copied, then deleted, which every store can do (not atomic: a kill
  between the two leaves both)."""
  if is_local(source):
    epath.Path(target).parent.mkdir(parents=True, exist_ok=True)
    epath.Path(source).rename(target)
    return
  import fsspec  # pylint: disable=g-import-not-at-top  (comes with a store's client, gcsfs)
  source, target = os.fspath(source), os.fspath(target)
  fs, _ = fsspec.core.url_to_fs(source)
  fs.copy(source, target, recursive=True)
  fs.rm(source, recursive=True)


def upload_changed(local_dir: str, target, sizes: dict[str, int]) -> None:
  """Copies each file under `local_dir` whose size differs from `sizes` (what was copied
  before, updated here) to the same place under `target`: for what a library writes only
  to local files (event files, profiler traces) into a workdir in an object store."""
  for root, _, names in os.walk(local_dir):
    for name in names:
      path = os.path.join(root, name)
      size = os.path.getsize(path)
      if sizes.get(path) != size:
        remote = epath.Path(target) / os.path.relpath(path, local_dir)
        remote.parent.mkdir(parents=True, exist_ok=True)
        epath.Path(path).copy(remote, overwrite=True)
        sizes[path] = size
