"""Every config loads and validates; bad fields fail early with the remedy."""

import glob
import importlib
import os

import ml_collections
import pytest

from genjax import config as config_lib
from genjax.families import vae as vae_family

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

CONFIGS = sorted(os.path.basename(p)[:-3] for p in glob.glob(os.path.join(REPO, 'configs', '*.py'))
                 if not os.path.basename(p).startswith('_') and 'variants' not in p)


def _variants(module):
  doc = module.__doc__ or ''
  names = ['smoke', 'mnist', 'z2', 'conv', 'cvae', 'gaussian', 'paper']
  return [''] + [n for n in names if n in doc]


def _run_configs(config):
  """A run config, or each run config inside a sweep config."""
  return [config.run] if 'run' in config else [config]


@pytest.mark.parametrize('name', CONFIGS)
def test_every_config_and_variant_validates(name):
  module = importlib.import_module(f'configs.{name}')
  for variant in _variants(module):
    for run in _run_configs(module.get_config(variant)):
      family_def = importlib.import_module(f'genjax.families.{run.family}').FAMILY
      assert family_def.name == run.family
      config_lib.validate(run, family_def.schema())


def test_a_mistyped_field_fails_with_a_suggestion(smoke_config):
  smoke_config.model.latent_dimm = 3
  with pytest.raises(config_lib.ConfigError, match="'model.latent_dimm'.*'model.latent_dim'"):
    config_lib.validate(smoke_config, vae_family.schema())


def test_a_wrongly_typed_field_fails(smoke_config):
  # A config file that builds its section from scratch escapes ml_collections' type lock.
  smoke_config.model = ml_collections.ConfigDict(
      {**smoke_config.model.to_dict(), 'latent_dim': 'two'})
  with pytest.raises(config_lib.ConfigError, match="'model.latent_dim' must be int"):
    config_lib.validate(smoke_config, vae_family.schema())


def test_locked_configs_reject_unknown_overrides():
  from configs import vae
  with pytest.raises(AttributeError, match='latent_dim'):
    vae.get_config('smoke').model.latent_dimm = 3


def test_durations_convert_to_steps(smoke_config):
  smoke_config.total_steps, smoke_config.steps_per_call = 0, 10
  smoke_config.total_epochs, smoke_config.batch_size = 2.0, 100
  assert config_lib.total_steps(smoke_config, 1000) == 20
  smoke_config.total_epochs, smoke_config.total_examples = 0.0, 1550
  assert config_lib.total_steps(smoke_config, 1000) == 20  # 16 rounded up to whole calls
  smoke_config.total_steps = 5
  with pytest.raises(config_lib.ConfigError, match='exactly one of'):
    config_lib.validate(smoke_config, vae_family.schema())


def test_unknown_variant_is_a_clear_error():
  from configs import vae
  with pytest.raises(ValueError, match="Unknown config variant 'tiny'"):
    vae.get_config('tiny')
