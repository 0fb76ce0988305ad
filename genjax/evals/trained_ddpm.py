"""A trained diffusion run, read back for the tools that score or sample it."""

from __future__ import annotations

import dataclasses

import ml_collections

from genjax import commands
from genjax.diffusion import schedules as sch
from genjax.models.unet import UNet, make_model
from genjax.training import restore


@dataclasses.dataclass(frozen=True)
class TrainedDDPM:
  config: ml_collections.ConfigDict
  model: UNet
  params: object  # the eval (EMA) params
  schedule: sch.Schedule
  step: int


def load(workdir: str, num_classes: int = 10) -> TrainedDDPM:
  """The latest checkpoint of the diffusion run in `workdir`.

  Refuses, naming the remedy, a workdir that holds no diffusion run or no checkpoint yet.
  """
  run = restore.load_run(workdir, family='diffusion', train_command=commands.DIFFUSION)
  return TrainedDDPM(config=run.config,
                     model=make_model(run.signature['model'], num_classes),
                     params=run.eval_params,
                     schedule=sch.schedule_of(run.signature['objective']),
                     step=run.step)
