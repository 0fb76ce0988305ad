"""The variational bound of a trained DDPM on test images, with its standard error.

The training run reports the bound's mean only. This re-evaluates a run's checkpoint (EMA
weights) through the likelihood its model offers (`genjax.load`: `bound(batch,
timesteps=k)`, `objectives.vb_bound`; 0 sums all T terms exactly, k > 0 is an unbiased
estimate from k) and reports the standard error of the mean over the images, which
carries both the spread between images and the estimate's own noise.
"""

from __future__ import annotations

import json
import math
import os

import jax
import numpy as np

from genjax import commands
from genjax import data as data_lib
from genjax.errors import UserError
from genjax.tools import runs


def run(workdir: str, *, num_examples: int, timesteps: int, batch_size: int = 100,
        seed: int = 0, out: str = '', log=print) -> dict:
  """Bits/dim of the first `num_examples` test images; writes JSON to `out` (default
  <workdir>/bound/bound_<timesteps>.json) and returns it."""
  model = runs.load(workdir, 'diffusion', commands.DIFFUSION)
  config = model.config
  test = data_lib.load_image_dataset(config.data.name, 'test',
                                     tfds_data_dir=config.data.tfds_data_dir,
                                     idx_dir=config.data.idx_dir)
  if not 0 < num_examples <= len(test.images):
    raise UserError(f'--num_examples must be in 1..{len(test.images)}, the test set size.')
  if timesteps < 0:
    raise UserError('--timesteps must be 0 (all T terms, exactly) or a positive count.')
  T = config.objective.timesteps
  log(f'{workdir}: diffusion run at step {model.step}; the bound of {num_examples} test '
      f'images from {timesteps or T} terms' + ('' if timesteps else ' (exact)'))
  key, values = jax.random.PRNGKey(seed), []
  for i, start in enumerate(range(0, num_examples, batch_size)):
    images = test.images[start:min(start + batch_size, num_examples)].astype(np.float32) / 255
    # The bound of p(x): a conditional model's is scored without a label.
    scores = model.bound({'image': images}, jax.random.fold_in(key, i), timesteps=timesteps)
    values.append(scores.bits_per_dim)
    log(f'  {start + len(images)}/{num_examples} images: running mean '
        f'{np.concatenate(values).mean():.4f} bits/dim')
  values = np.concatenate(values)
  result = {'workdir': os.path.abspath(workdir), 'step': model.step,
            'num_examples': num_examples, 'timesteps': timesteps, 'T': T, 'seed': seed,
            'bpd': float(values.mean()),
            'bpd_standard_error': float(values.std(ddof=1) / math.sqrt(len(values)))
            if len(values) > 1 else float('nan')}
  out = out or os.path.join(workdir, 'bound', f'bound_{timesteps}.json')
  os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
  with open(out, 'w') as f:
    json.dump(result, f, indent=2)
  log(f'bound: {result["bpd"]:.4f} ± {result["bpd_standard_error"]:.4f} bits/dim '
      f'(standard error); wrote {out}')
  return result
