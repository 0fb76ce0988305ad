"""log p(x|y) scorers from saved class-conditional runs, for `bayes_classifier`.

Each loader reads a run as `genjax.load` makes it and returns `inputs -> [B, C]`,
log p(x|y=c) in nats for every class, through the likelihood the model offers:
  - a conditional VAE: its `bound` with k importance samples (the IWAE bound of Burda et
    al., 2015), a lower bound;
  - a conditional autoregressive model: its `log_prob`, the exact log-likelihood;
  - one Gaussian mixture per class (runs with data.class_label = 0, 1, ...): each one's
    `log_prob`, the exact density of the PCA features the runs were fitted on.
"""

from __future__ import annotations

from typing import Sequence

import jax
import numpy as np

from genjax import commands
from genjax.errors import UserError
from genjax.tools import runs
from genjax.trained import TrainedModel


class NotConditionalError(ValueError, UserError):
  """The run models p(x), not p(x|y)."""


def _conditional_model(workdir: str, family: str, command: str) -> TrainedModel:
  model = runs.load(workdir, family, command)
  if not model.config.model.get('conditional'):
    raise NotConditionalError(
        f'{workdir} holds an unconditional {family} run (model.conditional=False); the '
        f'classifier needs p(x|y): train one with {command}')
  return model


def _under_each_class(x, num_classes: int, score) -> np.ndarray:
  """[B, C]: score({'image': x, 'label': c for every example}) for each class c."""
  x = np.asarray(x)
  return np.stack([score({'image': x, 'label': np.full(len(x), c, np.int32)}).log_p
                   for c in range(num_classes)], axis=1)


def vae_iwae(workdir: str, *, num_classes: int, num_samples: int, seed: int = 0):
  """(scorer, the run's data config) for a conditional VAE run."""
  model = _conditional_model(workdir, 'vae', commands.CONDITIONAL_VAE)
  batches = iter(range(1 << 62))
  rng = jax.random.key(seed)

  def scorer(x):
    # One key for every class: the classes' bounds differ by the model, not by the draw.
    key = jax.random.fold_in(rng, next(batches))
    return _under_each_class(x, num_classes,
                             lambda batch: model.bound(batch, key, k=num_samples))

  return scorer, model.config.data


def autoregressive_exact(workdir: str, *, num_classes: int):
  """(scorer, the run's data config) for a conditional autoregressive run."""
  model = _conditional_model(workdir, 'autoregressive', commands.CONDITIONAL_AUTOREGRESSIVE)
  return (lambda x: _under_each_class(x, num_classes, model.log_prob)), model.config.data


def class_gmms(workdirs: Sequence[str]):
  """The scorer of one Gaussian mixture per class; workdirs[c] was fitted on class c."""
  models = [runs.load(w, 'gmm', commands.GMM) for w in workdirs]
  for c, model in enumerate(models):
    if model.config.data.class_label != c:
      raise ValueError(f'{model.path} was fitted on data.class_label='
                       f'{model.config.data.class_label}, expected {c}.')
  return lambda x: np.stack([m.log_prob({'x': np.asarray(x)}).log_p for m in models], axis=1)
