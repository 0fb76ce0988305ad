"""`genjax.load`: a workdir or an exported directory as a `TrainedModel`.

The run's family is the `family` its config names (`genjax.families.<family>`), rebuilt by
its own `build` from the run's config and the description of its data the run saved
(`genjax.data.info_file`), so the data need not be on the machine. A run saved before
that description existed reads its data once to make it.
"""

from __future__ import annotations

import importlib
import logging

import jax

from genjax.data import info_file
from genjax.errors import UserError
from genjax.training import restore
from genjax.training.family import FamilyDef, StepContext
from genjax.trained.model import TrainedModel

logger = logging.getLogger(__name__)


# Any family's: what a refusal of an empty workdir names.
TRAIN_COMMAND = ('python -m experiments.<family> --config=configs/<family>.py --workdir=<dir>, '
                 'or point at a run\'s workdir or an export')


class UnfinishedRunError(ValueError, UserError):
  """A run whose latest checkpoint is not its last."""


def family_def(name: str) -> FamilyDef:
  """The `FamilyDef` of the family a run's config names."""
  try:
    module = importlib.import_module(f'genjax.families.{name}')
  except ModuleNotFoundError as e:
    raise UserError(f'The run is of family {name!r}, which this version of genjax does not '
                    'have; use the genjax version that trained it.') from e
  return module.FAMILY


def load(path: str, *, allow_unfinished: bool = False, weights: str = 'ema',
         family: FamilyDef | None = None) -> TrainedModel:
  """The trained model in `path`: a run's workdir or a `python -m genjax.export` directory.

  Args:
    path: the workdir or export directory.
    allow_unfinished: use the latest checkpoint of a run that has not finished training;
      without it such a run is refused, naming its step.
    weights: 'ema' uses the EMA weights where the run kept them; 'trained' the trained
      ones.
    family: the run's family when it is defined outside `genjax.families` (a FamilyDef of
      one's own); by default the one the run's config names.
  """
  if weights not in ('ema', 'trained'):
    raise UserError(f"weights={weights!r}; choose 'ema' or 'trained'.")
  run = restore.load_run(path, train_command=TRAIN_COMMAND)
  if not run.finished and not allow_unfinished:
    raise UnfinishedRunError(
        f'{path} has no finished checkpoint: its latest is step {run.step}, before the end '
        f'of training. Finish the run by running its training command again with '
        f'--workdir={path}, or use this checkpoint with --allow_unfinished '
        '(genjax.load(..., allow_unfinished=True)).')
  config = run.config
  definition = family if family is not None else family_def(config.family)
  if definition.name != config.family:
    raise UserError(f'{path} holds a {config.family!r} run, not a {definition.name!r} one.')
  if run.upstream is not None and 'stage1_workdir' in config.get('data', {}):
    # The first stage is where the run's record says it was read from (an export holds
    # it beside its own weights), whatever the config's path was relative to.
    config.data.stage1_workdir = run.upstream['workdir']
  if info_file.exists(run.workdir):
    info = info_file.read(run.workdir)
  else:
    logger.info('%s holds no data description (a run saved by an older genjax); reading '
                'its data once to rebuild the model.', path)
    info = definition.data(config, 0, 1).info
  built = definition.build(config, info)
  params = run.eval_params if weights == 'ema' else run.params
  # On the device once: a model is called batch after batch, and host arrays would be
  # copied to the device at every call.
  on_device = lambda tree: None if tree is None else jax.device_put(tree)
  return TrainedModel(family=config.family, config=config, step=run.step,
                      finished=run.finished, path=run.workdir, info=info,
                      params=on_device(params),
                      context=StepContext(model_state=on_device(run.model_state),
                                          frozen=on_device(built.training.frozen)),
                      inference=built.inference, family_def=definition)
