"""The diffusion family's configs, the checks it makes before anything compiles, and its
colour smoke run."""

import itertools
import os

import numpy as np
import pytest

from configs import diffusion as diffusion_config
from genjax import config as config_lib
from genjax.families import diffusion
from genjax.training.loop import train_and_evaluate
from tests.families import colour_runs

VARIANTS = ['', 'smoke', 'cpu', 'mnist', 'cosine', 'v', 'x0', 'cond', 'fixedsmall', 'cifar10']


@pytest.mark.parametrize('a,b', list(itertools.combinations(VARIANTS, 2)))
def test_variants_validate(a, b):
  c = diffusion_config.get_config(','.join(filter(None, (a, b))))
  config_lib.validate(c, diffusion.schema(), ranges=diffusion.RANGES)
  assert c.data.binarize == 'none' and c.ema_decay > 0


def test_build_refuses_binarized_data_and_unknown_choices(digits_info):
  c = diffusion_config.get_config('smoke')
  c.unlock()
  c.data.binarize = 'dynamic'
  with pytest.raises(ValueError, match='binarize=none'):
    diffusion.build(c, digits_info)
  c.data.binarize = 'none'
  c.objective.schedule = 'quadratic'
  with pytest.raises(ValueError, match='schedule'):
    diffusion.build(c, digits_info)


def test_signature_names_model_and_objective(digits_info):
  family = diffusion.build(diffusion_config.get_config('smoke,cosine'), digits_info)
  assert family.name == 'diffusion'
  assert family.signature['objective']['schedule'] == 'cosine'
  assert family.signature['image_shape'] == [8, 8, 1]


def test_the_cifar10_variant_is_ho_et_als_run():
  c = diffusion_config.get_config('cifar10')
  assert (c.data.name, c.data.random_flip, c.batch_size, c.total_steps) == (
      'cifar10', True, 128, 800000)
  assert (c.optimizer.learning_rate, c.optimizer.warmup_steps, c.optimizer.grad_clip_norm,
          c.ema_decay) == (2e-4, 5000, 1.0, 0.9999)
  o = c.objective
  assert (o.schedule, o.timesteps, o.beta_start, o.beta_end, o.prediction, o.variance) == (
      'linear', 1000, 1e-4, 0.02, 'eps', 'fixedlarge')
  assert c.eval.final_nll_timesteps == 0 and c.eval.test_examples == 0  # exact, whole set


@pytest.mark.slow
def test_the_cifar10_smoke_run_trains_samples_and_draws_in_colour(tmp_path, monkeypatch):
  colour_runs.use_random_cifar10(monkeypatch)
  config = diffusion_config.get_config('cifar10_smoke')
  final = train_and_evaluate(diffusion.FAMILY, config, str(tmp_path))
  assert np.isfinite(final['bpd']) and final['bpd'] > 0  # T = 20 leaves x_T far from N(0, I)
  a = colour_runs.last_artifacts(str(tmp_path))
  assert a['samples'].shape == (config.eval.num_samples, 32, 32, 3)
  assert a['forward_process'].shape[-3:] == (32, 32, 3)
  for name in ('samples', 'ddim_samples', 'forward_process', 'progressive_generation'):
    assert colour_runs.is_colour_png(os.path.join(tmp_path, 'figures', f'{name}.png')), name
  samples = colour_runs.samples_of_saved_run(diffusion.FAMILY, str(tmp_path), 3)
  assert samples.shape == (3, 32, 32, 3) and np.all((samples >= 0) & (samples <= 1))
