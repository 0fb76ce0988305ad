"""TensorBoard event files beside metrics.jsonl: every metrics row as scalars, every figure
as an image, in <workdir>/tensorboard.

Written with tensorboardX, which needs only numpy and protobuf, not TensorFlow.
"""

from __future__ import annotations

import os
import tempfile
from typing import Iterable, Mapping

import jax
import numpy as np
from etils import epath
from PIL import Image

from genjax.training import storage


class TensorBoardWriter:
  """Scalars tagged `<split>/<name>` and figures tagged `figures/<png stem>`; only process 0
  writes. tensorboardX writes local files, so for a workdir in an object store they are
  written in a local directory and each file copied up whole after every write.

  Event files cannot be edited, so where a resumed or rolled-back run drops rows from
  metrics.jsonl (`drop_after`), the next file opens with a purge at a step, and TensorBoard
  hides the earlier files' events from that step on. The files are flushed at every write,
  as metrics.jsonl is, so TensorBoard shows a row when the log does.
  """

  def __init__(self, workdir: str):
    self.target = os.path.join(workdir, 'tensorboard')
    self._enabled = jax.process_index() == 0
    self._staging = None if storage.is_local(workdir) else tempfile.TemporaryDirectory(
        prefix='genjax-tensorboard-')
    self.directory = self.target if self._staging is None else self._staging.name
    self._uploaded = {}
    self._purge_step = None
    self._writer = None

  def drop_after(self, step: int, splits_at_step: tuple[str, ...],
                 kept_rows: list[dict]) -> None:
    """Hides the events that MetricsWriter.drop_after drops the rows of: past `step`, and
    those of `splits_at_step` at `step`. A purge hides whole steps, so for the latter it
    hides all of `step` and writes the rows kept there (of `kept_rows`) again."""
    if not self._enabled:
      return
    self.close()
    self._purge_step = step if splits_at_step else step + 1
    if splits_at_step:
      for row in (r for r in kept_rows if r['step'] == step):
        self.scalars(step, row['split'],
                     {k: v for k, v in row.items() if k not in ('step', 'split')})

  def scalars(self, step: int, split: str, values: Mapping[str, float]) -> None:
    if not self._enabled:
      return
    writer = self._open()
    for name, value in values.items():
      writer.add_scalar(f'{split}/{name}', value, step)
    self._flush()

  def figures(self, step: int, paths: Iterable[str]) -> None:
    """Adds each PNG of `paths` (a family's rendered figures) as an image at `step`."""
    if not self._enabled:
      return
    writer = self._open()
    for path in paths:
      if not path.endswith('.png'):  # a family may render text beside its figures
        continue
      with epath.Path(path).open('rb') as f, Image.open(f) as image:
        pixels = np.asarray(image.convert('RGBA'))
      writer.add_image(f'figures/{os.path.basename(path)[:-len(".png")]}', pixels, step,
                       dataformats='HWC')
    self._flush()

  def _flush(self) -> None:
    self._writer.flush()
    if self._staging is not None:
      storage.upload_changed(self.directory, self.target, self._uploaded)

  def close(self) -> None:
    if self._writer is not None:
      self._writer.close()
      self._writer = None
      if self._staging is not None:
        storage.upload_changed(self.directory, self.target, self._uploaded)

  def _open(self):
    if self._writer is None:
      # Imported here, by process 0 at its first row: where PyTorch is installed,
      # tensorboardX imports it too.
      import tensorboardX  # pylint: disable=g-import-not-at-top
      os.makedirs(self.directory, exist_ok=True)
      # A file is named by the second it opens in, and TensorBoard reads the files in name
      # order: a count of the files before it keeps two opened within one second apart and
      # in order (the second one's purge must come after the first one's events).
      opened = sum('tfevents' in name for name in os.listdir(self.directory))
      self._writer = tensorboardX.SummaryWriter(self.directory, purge_step=self._purge_step,
                                                filename_suffix=f'.{opened:04d}')
    return self._writer
