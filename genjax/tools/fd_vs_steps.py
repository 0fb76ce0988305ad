"""Fréchet distance against the number of sampling steps, DDIM against strided DDPM.

The trained network is the same for every point, read with `genjax.load`; only the
sampler changes (the model's `sample(rng, n, steps=n, eta=eta)`):

- 'ddim': Song et al. (2021) at eta = 0, deterministic, on an evenly spaced subsequence of
  `n` of the T timesteps (`samplers.ddim_timesteps`).
- 'ddpm': ancestral sampling on the same subsequence. It is DDIM at eta = 1, which draws
  each x_prev from the forward process's posterior q(x_prev | x_t, x0_hat) between
  consecutive subsequence timesteps: exactly Ho et al.'s Algorithm 2 on the strided chain,
  with the posterior ("fixedsmall") variance. At n = T it is the full ancestral sampler.

Each point scores `num_samples` images against the test set in the feature space of a
genjax classifier (`genjax.metrics.frechet`). The floor is the same distance for
`num_samples` training images: the best any sampler can do at that sample size, since
the squared distance between finite-sample statistics is biased upwards.
"""

from __future__ import annotations

import json
import os
import time

import jax
import numpy as np

from genjax import commands
from genjax import data as data_lib
from genjax.errors import UserError
from genjax.evals import classifier_features
from genjax.figures import diffusion_fd
from genjax.metrics.frechet import FrechetScorer
from genjax.tools import runs

SAMPLER_ETA = {'ddim': 0.0, 'ddpm': 1.0}


def run(workdir: str, classifier: str, *, num_samples: int, steps: list[int],
        batch_size: int = 500, seed: int = 0, out_dir: str = '', log=print) -> dict:
  """Scores both samplers at each step count; writes fd_vs_steps.json and .png to out_dir
  (default <workdir>/fd_vs_steps) and returns the results."""
  model = runs.load(workdir, 'diffusion', commands.DIFFUSION)
  config, step = model.config, model.step
  T = config.objective.timesteps
  bad = [n for n in steps if not 1 <= n <= T]
  if bad:
    raise UserError(f'Step counts {bad} are outside 1..T = {T}; choose --steps within it.')
  load = lambda split: data_lib.load_image_dataset(
      config.data.name, split, tfds_data_dir=config.data.tfds_data_dir,
      idx_dir=config.data.idx_dir)
  train, test = load('train'), load('test')
  log(f'{workdir}: diffusion run at step {step}, T = {T}, {config.data.name}; '
      f'scoring {num_samples} samples a point with the classifier in {classifier}')
  scorer = FrechetScorer(classifier_features.load_feature_fn(classifier),
                         test.images.astype(np.float32) / 255.0)
  pick = np.random.default_rng(seed).choice(len(train.images), num_samples, replace=False)
  floor = scorer(train.images[pick].astype(np.float32) / 255.0)
  log(f'floor: Fréchet distance of {num_samples} train images to the test set = {floor:.3f}')

  key = jax.random.PRNGKey(seed)
  results = {name: [] for name in SAMPLER_ETA}
  out = {'workdir': os.path.abspath(workdir), 'step': step, 'classifier': classifier,
         'num_samples': num_samples, 'floor_train_samples': num_samples, 'steps': [],
         'fd': results, 'floor': floor, 'timesteps': T,
         'samplers': {'ddim': 'DDIM, eta = 0', 'ddpm': 'strided ancestral DDPM (DDIM, eta = 1)'}}
  out_dir = out_dir or os.path.join(workdir, 'fd_vs_steps')
  os.makedirs(out_dir, exist_ok=True)
  path = os.path.join(out_dir, 'fd_vs_steps.json')
  for n in steps:
    for name, eta in SAMPLER_ETA.items():
      start, images = time.time(), []
      for i, b0 in enumerate(range(0, num_samples, batch_size)):
        # One key a batch for every sampler and step count: the same x_T (of p(x), no
        # label), so that the points differ by the sampler alone.
        images.append(model.sample(jax.random.fold_in(key, i),
                                   min(batch_size, num_samples - b0), steps=n, eta=eta))
      fd = scorer(np.concatenate(images))
      results[name].append(fd)
      log(f'{name:4s} {n:5d} steps: Fréchet distance {fd:.3f}  ({time.time() - start:.0f}s)')
    out['steps'].append(n)
    _write_json(out, path)  # a kill keeps every finished step count
  png = diffusion_fd.plot_fd_vs_steps(path, os.path.join(out_dir, 'fd_vs_steps.png'))
  log(f'wrote {path} and {png}')
  return out


def _write_json(out: dict, path: str):
  with open(path + '.tmp', 'w') as f:
    json.dump(out, f, indent=2)
  os.replace(path + '.tmp', path)
