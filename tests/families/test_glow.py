"""The glow family's refusals (what it cannot model ends in one line naming the fix), its
CIFAR-10 model, and its colour smoke run."""

import math

import jax
import jax.numpy as jnp
import pytest

from configs import glow as glow_config
from genjax.config import ConfigError
from genjax.families import glow
from genjax.data.family_data import DataInfo
from tests.families.run_config import unlocked


def test_more_levels_than_the_sides_halve_names_the_fix():
  config = unlocked(glow_config, 'smoke', model=dict(levels=4))
  with pytest.raises(ConfigError, match='--config.model.levels') as raised:
    glow.build(config, DataInfo(num_train=1, example_shape=(8, 8, 1)))
  assert '\n' not in str(raised.value)


def test_binarised_data_is_refused():
  config = unlocked(glow_config, 'smoke', data=dict(binarize='dynamic'))
  with pytest.raises(ConfigError, match='--config.data.binarize=none'):
    glow.check_config(config)


def test_the_cifar10_variant_is_glows_three_levels_of_32_affine_steps():
  """Shapes only (eval_shape): nothing is allocated or computed."""
  c = glow_config.get_config('cifar10')
  assert (c.data.name, c.batch_size, c.optimizer.learning_rate) == ('cifar10', 512, 1e-3)
  model = glow.make_model(c.model, (32, 32, 3))
  assert (model.levels, model.steps, model.hidden, model.coupling) == (3, 32, 512, 'affine')
  assert model.latent_shapes == [(16, 16, 6), (8, 8, 12), (4, 4, 48)]
  shapes = jax.eval_shape(model.init, jax.random.PRNGKey(0), jnp.zeros((2, 32, 32, 3)))
  assert len([k for k in shapes['params'] if k.endswith('_step31')]) == 3
  count = sum(math.prod(s.shape) for s in jax.tree.leaves(shapes))
  assert 40e6 < count < 48e6, count  # three levels of 512-wide couplings, about 44M


def test_an_additive_model_has_its_own_signature_and_an_affine_one_the_old(digits_info):
  affine = glow.build(glow_config.get_config('smoke'), digits_info)
  additive = glow.build(glow_config.get_config('smoke,additive'), digits_info)
  assert 'coupling' not in affine.signature['model']  # as runs saved before the field
  assert additive.signature['model']['coupling'] == 'additive'
