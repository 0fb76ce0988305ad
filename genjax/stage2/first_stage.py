"""A trained stage-1 VQ-VAE run as a second stage sees it: checked, then its codes.

`load_stage1(workdir)` reads the run with `genjax.training.restore.load_run` and refuses,
in one line that names the workdir and the remedy, a missing run, another family's run and
an unfinished one, before anything compiles; `check_stage1_data` refuses a run trained on
other images than the second stage's config names. `stage1_codes` encodes the run's
training and test images once and stores the grids beside the run
(`codes/step_<step>.npz`, written atomically), so every prior over the same checkpoint
reads the same codes.
"""

from __future__ import annotations

import dataclasses
import os

from genjax import commands
from genjax.commands import canonical_signature
from genjax.data.codes import CodeGrids, load_code_grids, run_codes_path, save_code_grids
from genjax.data.image_data import load_splits
from genjax.data.sources import ImageArrays
from genjax.errors import UserError
from genjax.objectives.vqvae import VQObjective, encoder, objective_from_signature
from genjax.training import restore


class UnfinishedRunError(UserError):
  """The stage-1 run has checkpoints but has not reached its last step."""


@dataclasses.dataclass(frozen=True)
class Stage1:
  """A finished stage-1 run: its saved state and the objective that rebuilds its network."""
  run: restore.SavedRun
  objective: VQObjective

  @property
  def frozen(self):
    """What a second stage's compiled step reads and never updates."""
    return {'params': self.run.eval_params, 'model_state': self.run.model_state}

  @property
  def code_shape(self) -> tuple[int, int]:
    """The grid of one image's codes: [h, w], or [1, L] multi-scale tokens."""
    return self.objective.token_shape

  @property
  def num_codes(self) -> int:
    return self.objective.num_codes


# The images a second stage's codes come from, as its config's data section states them
# (a paper variant names its dataset): '' and 0 leave them to the stage-1 run; a value set
# must be the run's.
STAGE1_DATA_FIELDS = dict(name='', image_size=0, channels=0)


def check_stage1_data(data, stage1: Stage1) -> None:
  """UserError in one line when `data` (a second stage's config section) names images the
  stage-1 run was not trained on."""
  trained = stage1.run.config.data
  for field, unset in STAGE1_DATA_FIELDS.items():
    want, got = data.get(field, unset), trained.get(field, unset)
    if unset not in (want, got) and want != got:
      raise UserError(
          f'data.{field}={want!r}, but the stage-1 run in {stage1.run.workdir} was trained '
          f'with data.{field}={got!r}; name a stage-1 run of those images with '
          f'--config.data.stage1_workdir, or set --config.data.{field}={got!r}.')


def load_stage1(workdir: str) -> Stage1:
  """The finished VQ-VAE run in `workdir`; UserError in one line otherwise."""
  if not workdir:
    raise UserError('No stage-1 run named; pass --config.data.stage1_workdir=<a VQ-VAE '
                    f'workdir>, trained with {commands.VQVAE}')
  run = restore.load_run(workdir, family='vqvae', train_command=commands.VQVAE)
  if not run.finished:
    raise UnfinishedRunError(
        f'The stage-1 run in {run.workdir} is unfinished (latest checkpoint at step '
        f'{run.step}, no final metrics for it); finish it by running its training command '
        f'again with --workdir={workdir}, or point --config.data.stage1_workdir elsewhere.')
  return Stage1(run, objective_from_signature(run.signature))


def codes_path(stage1: Stage1) -> str:
  return run_codes_path(stage1.run.workdir, stage1.run.step)


def stage1_codes(stage1: Stage1) -> tuple[dict[str, CodeGrids], dict[str, ImageArrays]]:
  """({'train', 'test'}: code grids, {'train', 'test'}: images) of the run's data."""
  train, test = load_splits(stage1.run.config.data)
  images = {'train': train, 'test': test}
  grids, encode = {}, encoder(stage1.objective)
  for split, arrays in images.items():
    path = codes_path(stage1).replace('.npz', f'_{split}.npz')
    if not os.path.exists(path):
      codes = encode(stage1.run.eval_params, stage1.run.model_state, arrays.images)
      save_code_grids(path, codes, arrays.labels,
                      num_codes=stage1.num_codes, source=stage1.run.record())
    grids[split] = load_code_grids(path)
    if (canonical_signature(grids[split].source.get('signature')) !=
        canonical_signature(dict(stage1.run.signature))):
      raise UserError(f'{path} holds codes of another model; delete it and run again.')
  return grids, images
