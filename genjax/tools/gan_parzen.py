"""Goodfellow et al.'s (2014) Parzen-window score of a trained GAN run: sigma chosen on the
run's held-out validation images, the log-likelihood reported on the test set. The kernel
centres are the samples of the model `genjax.load` reads (`sample(seed, n)`)."""

from __future__ import annotations

import json
import os

import numpy as np

from genjax import commands
from genjax.data.image_data import hold_out, load_splits
from genjax.errors import UserError
from genjax.evals import parzen
from genjax.tools import runs
from genjax.training import restore


def run(workdir: str, *, num_samples: int = 10000, validation_examples: int = 1000,
        test_examples: int = 0, sigmas=parzen.GOODFELLOW_SIGMAS, seed: int = 0,
        reference: bool = True, out: str = '', log=print) -> dict:
  """Writes the score as JSON to `out` (default <workdir>/parzen.json) and returns it.

  With `reference`, the same protocol with as many training images (never the held-out
  ones) as kernel centres: what the estimator gives a generator that memorised its data.
  """
  d = restore.read_run_config(workdir, 'gan', commands.GAN).data
  held = d.get('validation_examples', 0)
  if not 0 < validation_examples <= held:
    raise UserError(f'--validation_examples must be in 1..{held}: the images the run held '
                    'out of training (data.validation_examples); images it trained on would '
                    'favour the widths that memorise them.')
  train, test = load_splits(d)
  _, validation = hold_out(train, held)
  validation = validation.images[:validation_examples].astype(np.float64) / 255.0
  n_test = test_examples or len(test.images)
  if not 0 < n_test <= len(test.images):
    raise UserError(f'--test_examples must be in 0..{len(test.images)} (0: all).')
  test_images = test.images[:n_test].astype(np.float64) / 255.0
  model = runs.load(workdir, 'gan', commands.GAN)
  log(f'{workdir}: GAN run at step {model.step}; drawing {num_samples} samples')
  result = {'workdir': os.path.abspath(workdir), 'step': model.step,
            'dataset': d.name, 'num_samples': num_samples,
            'validation_examples': len(validation), 'test_examples': n_test,
            'sigmas': [float(s) for s in sigmas], 'seed': seed,
            **_protocol(model.sample(seed, num_samples), validation, test_images, sigmas,
                        log)}
  if reference:
    rows = np.random.default_rng(seed).choice(len(train.images) - held, num_samples,
                                              replace=False)
    log(f'the same protocol with {num_samples} training images as the kernel centres')
    result['training_images'] = _protocol(train.images[rows].astype(np.float64) / 255.0,
                                          validation, test_images, sigmas, log)
  out = out or os.path.join(workdir, 'parzen.json')
  os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
  with open(out, 'w') as f:
    json.dump(result, f, indent=2)
  log(f"Parzen log-likelihood {result['log_likelihood']:.1f} ± {result['standard_error']:.1f}"
      f" nats (standard error) on {n_test} test images, sigma {result['sigma']:.4f}; "
      f'wrote {out}')
  return result


def _protocol(centres, validation, test_images, sigmas, log) -> dict:
  """Sigma chosen on the validation images, the test log-likelihood at it."""
  log(f'choosing sigma from {len(sigmas)} widths on {len(validation)} validation images')
  sigma, means = parzen.choose_sigma(validation, centres, sigmas)
  for s, m in zip(sigmas, means):
    log(f'  sigma {s:.4f}: validation log-likelihood {m:.1f} nats' + (
        '  <- chosen' if s == sigma else ''))
  mean, se = parzen.score(test_images, centres, sigma)
  log(f'  test: {mean:.1f} ± {se:.1f} nats')
  return {'validation_log_likelihood': [float(m) for m in means], 'sigma': sigma,
          'log_likelihood': mean, 'standard_error': se}
