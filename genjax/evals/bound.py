"""The variational bound of a trained DDPM on test images, with its standard error.

The training run reports the bound's mean only. This re-evaluates a run's checkpoint (EMA
weights) with any number of terms (`objectives.vb_bound`: 0 sums all T exactly, k > 0 is
an unbiased estimate from k) and reports the standard error of the mean over the images,
which carries both the spread between images and the estimate's own noise.
"""

from __future__ import annotations

import json
import math
import os

import jax
import jax.numpy as jnp
import numpy as np

from genjax import data as data_lib
from genjax.errors import UserError
from genjax.evals import trained_ddpm
from genjax.objectives import diffusion as objectives


def run(workdir: str, *, num_examples: int, timesteps: int, batch_size: int = 100,
        seed: int = 0, out: str = '', log=print) -> dict:
  """Bits/dim of the first `num_examples` test images; writes JSON to `out` (default
  <workdir>/bound/bound_<timesteps>.json) and returns it."""
  trained = trained_ddpm.load(workdir)
  config, model, params, schedule, step = (trained.config, trained.model, trained.params,
                                           trained.schedule, trained.step)
  test = data_lib.load_image_dataset(config.data.name, 'test',
                                     tfds_data_dir=config.data.tfds_data_dir,
                                     idx_dir=config.data.idx_dir)
  if not 0 < num_examples <= len(test.images):
    raise UserError(f'--num_examples must be in 1..{len(test.images)}, the test set size.')
  if timesteps < 0:
    raise UserError('--timesteps must be 0 (all T terms, exactly) or a positive count.')
  null = test.num_classes if config.model.conditional else None  # the bound of p(x)
  o = config.objective

  @jax.jit
  def bpd(params, images01, rng):
    y = None if null is None else jnp.full((images01.shape[0],), null, jnp.int32)
    net = lambda x, t: model.apply(params, x, t, y)
    return objectives.vb_bound(net, schedule, objectives.to_model_space(images01), rng,
                               timesteps, o.prediction, o.variance)['bpd']

  log(f'{workdir}: diffusion run at step {step}; the bound of {num_examples} test images '
      f'from {timesteps or schedule.num_timesteps} terms' + ('' if timesteps else ' (exact)'))
  key, values = jax.random.PRNGKey(seed), []
  for i, start in enumerate(range(0, num_examples, batch_size)):
    images = test.images[start:min(start + batch_size, num_examples)].astype(np.float32) / 255
    values.append(np.asarray(bpd(params, images, jax.random.fold_in(key, i))))
    log(f'  {start + len(images)}/{num_examples} images: running mean '
        f'{np.concatenate(values).mean():.4f} bits/dim')
  values = np.concatenate(values)
  result = {'workdir': os.path.abspath(workdir), 'step': step, 'num_examples': num_examples,
            'timesteps': timesteps, 'T': schedule.num_timesteps, 'seed': seed,
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
