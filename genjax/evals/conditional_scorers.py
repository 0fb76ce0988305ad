"""log p(x|y) scorers from saved class-conditional runs, for `bayes_classifier`.

Each loader reads a run with `restore.load_run`, rebuilds its network from the saved
signature and returns `inputs -> [B, C]`, log p(x|y=c) in nats for every class, jitted:
  - a conditional VAE: the IWAE bound with k samples (Burda et al., 2015), a lower bound;
  - a conditional autoregressive model: the exact log-likelihood;
  - one Gaussian mixture per class (runs with data.class_label = 0, 1, ...): the exact
    density of the PCA features the runs were fitted on.
"""

from __future__ import annotations

from typing import Sequence

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np

from genjax import commands
from genjax.errors import UserError
from genjax.models import autoregressive, gmm, vae
from genjax.objectives import autoregressive as ar_objectives
from genjax.objectives import vae as vae_objectives
from genjax.training import restore


class NotConditionalError(ValueError, UserError):
  """The run models p(x), not p(x|y)."""


def _conditional_run(workdir: str, family: str, command: str) -> restore.SavedRun:
  run = restore.load_run(workdir, family=family, train_command=command)
  if not run.signature['model'].get('conditional'):
    raise NotConditionalError(
        f'{workdir} holds an unconditional {family} run (model.conditional=False); the '
        f'classifier needs p(x|y): train one with {command}')
  return run


def vae_iwae(workdir: str, *, num_classes: int, num_samples: int, seed: int = 0):
  """(scorer, the run's data config) for a conditional VAE run."""
  run = _conditional_run(workdir, 'vae', commands.CONDITIONAL_VAE)
  model = vae.make_model(ml_collections.ConfigDict(run.signature['model']),
                         run.signature['image_shape'], num_classes)
  classes = jnp.arange(num_classes)

  @jax.jit
  def bounds(params, x, key):
    # One key for every class: the classes' bounds differ by the model, not by the draw.
    per_class = lambda y: vae_objectives.iwae_bound(
        model, params, x, jnp.full(x.shape[:1], y), key, num_samples)
    return jax.lax.map(per_class, classes).T

  batches = iter(range(1 << 62))
  rng = jax.random.key(seed)
  scorer = lambda x: np.asarray(bounds(run.eval_params, jnp.asarray(x),
                                       jax.random.fold_in(rng, next(batches))))
  return scorer, run.config.data


def autoregressive_exact(workdir: str, *, num_classes: int):
  """(scorer, the run's data config) for a conditional autoregressive run."""
  run = _conditional_run(workdir, 'autoregressive',
                         commands.CONDITIONAL_AUTOREGRESSIVE)
  model = autoregressive.make_model(ml_collections.ConfigDict(run.signature['model']),
                                    run.signature['image_shape'], num_classes)

  classes = jnp.arange(num_classes)

  @jax.jit
  def log_likelihoods(params, x):
    per_class = lambda y: -ar_objectives.nll_terms(model, params, x,
                                                   jnp.full(x.shape[:1], y))['nll']
    return jax.lax.map(per_class, classes).T

  scorer = lambda x: np.asarray(log_likelihoods(run.eval_params, jnp.asarray(x)))
  return scorer, run.config.data


def class_gmms(workdirs: Sequence[str]):
  """The scorer of one Gaussian mixture per class; workdirs[c] was fitted on class c."""
  runs = [restore.load_run(w, family='gmm', train_command=commands.GMM)
          for w in workdirs]
  for c, run in enumerate(runs):
    if run.config.data.class_label != c:
      raise ValueError(f'{run.workdir} was fitted on data.class_label='
                       f'{run.config.data.class_label}, expected {c}.')
  kinds = {run.config.model.covariance_type for run in runs}
  if len(kinds) != 1:
    raise ValueError(f'The class mixtures mix covariance types {sorted(kinds)}.')
  kind = kinds.pop()
  stacked = jax.tree.map(lambda *a: jnp.stack(a), *[run.params for run in runs])
  per_class = jax.jit(jax.vmap(lambda p, x: gmm.log_likelihood(p, x, covariance_type=kind),
                               in_axes=(0, None), out_axes=1))
  return lambda x: np.asarray(per_class(stacked, jnp.asarray(x)))
