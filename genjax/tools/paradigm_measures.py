"""What the paradigms table measures of each trained model (`genjax.tools.paradigms`).

Every model is read with `genjax.load` and sampled without a label (of p(x); VAR's and
MaskGIT's conditional models draw the classes in turn), by its run's own sampler options
except the step counts the Fréchet-against-steps curve varies:

- the likelihood of the test images in bits/dim, with its kind: exact (Glow), exact through
  the probability-flow ODE (flow matching), a bound (DDPM, the priors over codes), or none
  (MaskGIT, latent diffusion over a VQ-VAE);
- the Fréchet distance of `num_samples` samples to the test images in a trained
  classifier's features (`genjax.metrics.frechet`, as `genjax.tools.fd_vs_steps` scores),
  beside its floor: the same distance for as many training images;
- the network evaluations one sample takes, and images per second at each batch size (the
  second call's time, after the first has compiled);
- the Fréchet distance at each step count for the families whose sampler takes `steps`
  (the others draw in a fixed number of network evaluations: one point).
"""

from __future__ import annotations

import math
import os
import time
from typing import Any, Callable

import jax
import numpy as np

from genjax.data.image_data import load_splits
from genjax.evals import classifier_features, frechet_setup
from genjax.metrics.frechet import FrechetScorer
from genjax.samplers.flow_matching import MAX_STEPS
from genjax.trained import TrainedModel
from genjax.training import restore

# The guidance value at which each family's sampler evaluates the network once (the
# conditional model alone); any other value evaluates it twice a step, when the samples
# have labels: given, or, in these families' conditional models, the classes in turn.
_UNGUIDED = {'diffusion': 1.0, 'latent_diffusion': 1.0, 'var': 1.0, 'flow_matching': 0.0,
             'maskgit': 0.0}
_LABELS_IN_TURN = ('var', 'maskgit')
# Each family's network evaluations a step of its solver, where they are fixed.
_SOLVER_EVALUATIONS = {'euler': 1, 'heun': 2}


def image_data_config(config):
  """The `data` section that names a run's images: a second stage's first stage's."""
  stage1 = config.data.get('stage1_workdir')
  if stage1:
    return restore.read_run_config(stage1, '', '').data
  return config.data


def frechet_scorer(classifier: str, data_config) -> FrechetScorer:
  _, test = load_splits(data_config)
  return FrechetScorer(classifier_features.load_feature_fn(classifier),
                       test.images.astype(np.float32) / 255.0)


def floor(scorer: FrechetScorer, data_config, num_samples: int, seed: int) -> float:
  return float(scorer(frechet_setup.floor_images(data_config, num_samples, seed)))


def draw(model: TrainedModel, num_samples: int, batch_size: int, seed: int,
         **options) -> np.ndarray:
  """`num_samples` images in [0, 1], one key a batch: the same keys for every step count."""
  key = jax.random.PRNGKey(seed)
  return np.concatenate([
      model.sample(jax.random.fold_in(key, i), min(batch_size, num_samples - start),
                   **options)
      for i, start in enumerate(range(0, num_samples, batch_size))])


def likelihood(model: TrainedModel, examples: int, batch_size: int) -> dict[str, Any]:
  """{'bits_per_dim', 'se', 'kind', 'examples'} on the first `examples` test images
  (every one when 0); the value None and kind 'none' when the family scores none."""
  scoring = model.inference.likelihood
  if scoring is None:
    return {'bits_per_dim': None, 'se': None, 'kind': 'none', 'examples': 0}
  score = model.score('test', batch_size=batch_size, max_examples=examples)
  kind = 'exact' if scoring.exact else 'bound'
  if model.family == 'flow_matching':
    kind += ' (ODE)'
  return {'bits_per_dim': score[f'bits_per_{scoring.unit}'],
          'se': score[f'bits_per_{scoring.unit}_se'], 'kind': kind,
          'examples': score['examples']}


def _adaptive_evaluations(workdir: str) -> int | None:
  """The network evaluations of the run's own last adaptive draw (its artifacts)."""
  folder = os.path.join(workdir, 'artifacts')
  names = sorted(f for f in os.listdir(folder) if f.endswith('.npz')) if os.path.isdir(
      folder) else []
  for name in reversed(names):
    with np.load(os.path.join(folder, name)) as a:
      if 'samples_nfe' in a:
        return int(a['samples_nfe'])
  return None


def _stage1_config(model: TrainedModel):
  return restore.read_run_config(model.config.data.stage1_workdir, '', '')


def network_evaluations(model: TrainedModel, options: dict[str, Any]) -> int | None:
  """Network evaluations one sample takes under `options` (None where they vary with the
  sample: flow matching's adaptive solver, with no record of the run's own draw)."""
  family, options = model.family, {**model.inference.sample_options, **options}
  if family in ('diffusion', 'latent_diffusion', 'maskgit'):
    per_step = 1
    count = options['steps']
  elif family == 'flow_matching':
    if options['solver'] == 'adaptive':
      return _adaptive_evaluations(model.path)
    per_step, count = _SOLVER_EVALUATIONS[options['solver']], options['steps']
  elif family == 'code_prior':  # one position of the raster a call
    per_step, count = 1, math.prod(model.info.example_shape)
  elif family == 'var':  # one scale a call
    per_step, count = 1, len(_stage1_config(model).model.scales)
  elif family == 'glow':  # the inverse flow, once
    per_step, count = 1, 1
  else:
    raise ValueError(f'no count of network evaluations for a {family} model')
  labelled = options.get('label') is not None or family in _LABELS_IN_TURN
  if 'guidance' in options and labelled and options['guidance'] != _UNGUIDED[family]:
    per_step *= 2
  return per_step * count


def step_limit(model: TrainedModel) -> int | None:
  """The most sampling steps the family's sampler takes; None when it takes no `steps`."""
  if 'steps' not in model.inference.sample_options:
    return None
  if model.family in ('diffusion', 'latent_diffusion'):
    return int(model.config.objective.timesteps)
  if model.family == 'maskgit':
    return math.prod(model.info.example_shape)
  return MAX_STEPS


def images_per_second(model: TrainedModel, batch_sizes: list[int],
                      seed: int) -> dict[int, float]:
  """{batch size: images/s}: the time of a second call, the first having compiled."""
  rates = {}
  for b in batch_sizes:
    model.sample(seed, b)
    start = time.perf_counter()
    model.sample(seed + 1, b)
    rates[b] = b / (time.perf_counter() - start)
  return rates


def fd_against_steps(model: TrainedModel, scorer: Callable[[np.ndarray], float],
                     steps: list[int], num_samples: int, batch_size: int, seed: int,
                     fixed_fd: float | None = None,
                     log: Callable[[str], None] = lambda _: None) -> list[dict[str, Any]]:
  """[{'steps', 'evaluations', 'fd'}]: each step count within the sampler's range (flow
  matching on Euler steps); one point at the fixed evaluations of the others, which is
  `fixed_fd` when given: the distance of the same draw (the run's own options, `seed`)."""
  limit = step_limit(model)
  if limit is None:
    fd = fixed_fd if fixed_fd is not None else scorer(
        draw(model, num_samples, batch_size, seed))
    n = network_evaluations(model, {})
    return [{'steps': n, 'evaluations': n, 'fd': float(fd)}]
  extra = {'solver': 'euler'} if model.family == 'flow_matching' else {}
  points = []
  for n in [n for n in steps if 1 <= n <= limit]:
    options = {'steps': n, **extra}
    fd = scorer(draw(model, num_samples, batch_size, seed, **options))
    points.append({'steps': n, 'evaluations': network_evaluations(model, options),
                   'fd': float(fd)})
    log(f'Fréchet distance {fd:.3f} at {n} steps')
  return points
