"""The diffusion family's configs, the checks it makes before anything compiles, and its
colour smoke run."""

import itertools

import pytest

from configs import diffusion as diffusion_config
from genjax import config as config_lib
from genjax.families import diffusion

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
