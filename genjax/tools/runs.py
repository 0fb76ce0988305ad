"""A trained run as a tool reads it: the `TrainedModel` of `genjax.load`, of one family."""

from __future__ import annotations

from genjax.trained import TrainedModel, loading
from genjax.training import restore


def load(path: str, family: str, train_command: str) -> TrainedModel:
  """The latest checkpoint of the `family` run (or export) in `path`, finished or not.

  Refuses, naming `train_command`, a directory that holds no run or another family's.
  """
  # Before anything is built: another family's run is refused with the command that trains
  # one of this family, which `genjax.load` cannot name.
  restore.read_run_config(path, family, train_command)
  try:
    return loading.load(path, allow_unfinished=True)
  except restore.RunNotFoundError as e:  # no checkpoint yet: name this family's command
    raise restore.RunNotFoundError(
        str(e).replace(loading.TRAIN_COMMAND, train_command)) from None
