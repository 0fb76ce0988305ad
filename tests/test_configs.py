"""Every config loads and validates; bad fields fail early with the remedy."""

import glob
import importlib
import os
import re

import ml_collections
import pytest

from genjax import config as config_lib
from genjax.errors import UserError
from genjax.families import vae as vae_family

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

CONFIGS = sorted(os.path.basename(p)[:-3] for p in glob.glob(os.path.join(REPO, 'configs', '*.py'))
                 if not os.path.basename(p).startswith('_') and 'variants' not in p)

# Variant combinations written in prose rather than as a `configs/<name>.py:<variants>`
# command (which _documented_combinations finds by itself).
PROSE_COMBINATIONS = [
    ('autoregressive', 'smoke,transformer'),  # its docstring
    ('autoregressive', 'gated,cpu'),
    ('vqvae', 'smoke,multiscale'),  # configs/vqvae.py's _multiscale comment
]

_COMMAND = re.compile(r'configs/(\w+)\.py:([\w,]+)')


def _documented_combinations():
  """(config, variants) of every `configs/<name>.py:<variants>` in the README and the other
  docs, the configs' and experiments' sources, and the commands of the likelihood table's
  rows. A line that quotes an `error:` shows a bad input on purpose and is skipped."""
  paths = [os.path.join(REPO, 'README.md'), os.path.join(REPO, 'ARCHITECTURE.md')]
  paths += sorted(glob.glob(os.path.join(REPO, 'docs', '**', '*.md'), recursive=True))
  for folder in ('configs', 'experiments'):
    paths += sorted(glob.glob(os.path.join(REPO, folder, '*.py')))
  lines = [line for path in paths if os.path.exists(path) for line in open(path)]
  table = importlib.import_module('configs.likelihood_table').get_config()
  lines += [row['command'] for rows in (table.eight_bit, table.binarized) for row in rows]
  found = {(name, arg.strip(',')) for line in lines if 'error:' not in line
           for name, arg in _COMMAND.findall(line)}
  return sorted(found | set(PROSE_COMBINATIONS))


def _cases():
  """Every config with no variant, each of its VARIANTS alone, and each documented
  combination."""
  cases = []
  for name in CONFIGS:
    module = importlib.import_module(f'configs.{name}')
    cases += [(name, '')] + [(name, v) for v in module.VARIANTS]
  combinations = [c for c in _documented_combinations() if ',' in c[1]]
  return cases + [c for c in combinations if c not in cases]


def _run_configs(config):
  """A run config, or each run config inside a sweep config (its sections with a family)."""
  if 'family' in config:
    return [config]
  return [v for v in config.values() if isinstance(v, ml_collections.ConfigDict) and 'family' in v]


@pytest.mark.parametrize('name,variant', _cases())
def test_every_config_and_variant_validates(name, variant):
  module = importlib.import_module(f'configs.{name}')
  runs = _run_configs(module.get_config(variant))
  assert runs or name in ('likelihood_table', 'paradigms'), name  # tables of other runs
  for run in runs:
    family_def = importlib.import_module(f'genjax.families.{run.family}').FAMILY
    assert family_def.name == run.family
    config_lib.validate(run, family_def.schema(), ranges=family_def.ranges)


@pytest.mark.parametrize('name', CONFIGS)
def test_every_config_lists_its_variants_and_documents_each(name):
  module = importlib.import_module(f'configs.{name}')
  assert isinstance(module.VARIANTS, tuple), name
  assert len(set(module.VARIANTS)) == len(module.VARIANTS), module.VARIANTS
  for variant in module.VARIANTS:
    assert re.search(rf'\b{re.escape(variant)}\b', module.__doc__), (name, variant)


def test_documented_combinations_name_real_configs_and_variants():
  combinations = _documented_combinations()
  assert ('vae', 'burda,cpu,iwae5') in combinations  # README's likelihood table row
  assert ('autoregressive', 'gated,cond,cpu') in combinations  # bayes_classifier's docstring
  for name, arg in combinations:
    assert name in CONFIGS, (name, arg)
    module = importlib.import_module(f'configs.{name}')
    assert set(arg.split(',')) <= set(module.VARIANTS), (name, arg, module.VARIANTS)


@pytest.mark.parametrize('name', CONFIGS)
def test_an_unknown_variant_is_refused_in_one_line(name):
  module = importlib.import_module(f'configs.{name}')
  for arg in ['tiny'] + [f'{v},tiny' for v in module.VARIANTS[:1]]:  # alone, after a good one
    with pytest.raises(ValueError) as e:
      module.get_config(arg)
    message = str(e.value)
    assert isinstance(e.value, UserError) and '\n' not in message, message
    assert message.startswith("Unknown config variant 'tiny'; "), message
    for variant in module.VARIANTS:
      assert repr(variant) in message, (variant, message)


@pytest.mark.parametrize('name', CONFIGS)
def test_every_config_names_the_command_that_runs_it(name):
  doc = importlib.import_module(f'configs.{name}').__doc__
  assert f'python -m experiments.{name} --config=configs/{name}.py' in doc, name


def test_configs_and_mains_cite_papers_not_working_notes():
  paths = glob.glob(os.path.join(REPO, 'configs', '*.py')) + glob.glob(
      os.path.join(REPO, 'experiments', '*.py')) + [
          os.path.join(REPO, 'genjax', f) for f in ('config.py', 'cli_errors.py', 'launch.py')]
  pattern = re.compile(r'shared/|REFERENCES\.md|[Ii]ssue [0-9]|spine|session')
  found = [f'{p}:{i}: {line.strip()}' for p in paths for i, line in enumerate(open(p), 1)
           if pattern.search(line)]
  assert not found, found


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


# (config:variant, field, bad value, what the message says the field must be)
OUT_OF_RANGE = [
    ('vae:smoke', 'batch_size', -32, 'must be a positive integer'),
    ('vae:smoke', 'batch_size', 0, 'must be a positive integer'),
    ('vae:smoke', 'model.latent_dim', 0, 'must be a positive integer'),
    ('vae:smoke', 'model.latent_dim', -3, 'must be a positive integer'),
    ('vae:smoke', 'total_steps', -5, 'must be a non-negative integer'),
    ('vae:smoke', 'steps_per_call', 0, 'must be a positive integer'),
    ('vae:smoke', 'keep_checkpoints', 0, 'must be a positive integer'),
    ('vae:smoke', 'optimizer.learning_rate', 0.0, 'must be a positive number'),
    ('vae:smoke', 'ema_decay', 1.0, 'must be a number in [0, 1)'),
    ('vae:smoke', 'optimizer.name', 'adamm', "is not one of ('adagrad', 'adam', 'adamw', 'sgd')"),
    ('vae:smoke', 'data.binarize', 'maybe', "is not one of ('none', 'dynamic', 'static')"),
    ('vae:smoke', 'model.conv_channels', (), 'must be a non-empty list of positive numbers'),
    ('vae:smoke', 'eval.iwae_k', -1, 'must be a non-negative integer'),
    ('diffusion:smoke', 'objective.schedule', 'quadratic', "is not one of ('linear', 'cosine',"),
    ('diffusion:smoke', 'model.channel_mults', (1, 0), 'must be a non-empty list of positive'),
    ('diffusion:smoke', 'model.label_dropout', 1.0, 'must be a number in [0, 1)'),
    ('diffusion:smoke', 'objective.prediction', 'epsilon', "is not one of ('eps', 'x0', 'v')"),
    ('autoregressive:smoke', 'model.architecture', 'pixelcn', "is not one of ('pixelcnn',"),
    ('autoregressive:smoke', 'eval.sampler', 'slow', "is not one of ('fast', 'naive')"),
    ('classifier:smoke', 'model.dropout', -0.1, 'must be a number in [0, 1)'),
]


def _config_with(name_variant, field, value):
  name, variant = name_variant.split(':')
  c = importlib.import_module(f'configs.{name}').get_config(variant)
  c.unlock()
  *sections, leaf = field.split('.')
  section = c
  for key in sections:
    section = section[key]
  section[leaf] = value
  return c, importlib.import_module(f'genjax.families.{name}').FAMILY


@pytest.mark.parametrize('name_variant,field,value,constraint', OUT_OF_RANGE)
def test_an_out_of_range_field_names_itself_and_the_remedy(name_variant, field, value,
                                                           constraint):
  config, family_def = _config_with(name_variant, field, value)
  with pytest.raises(config_lib.ConfigError) as e:
    config_lib.validate(config, family_def.schema(), ranges=family_def.ranges)
  message = str(e.value)
  assert message.startswith(f'{field}={value!r} {constraint}'), message
  assert f'--config.{field}=' in message
  assert isinstance(e.value, UserError)


@pytest.mark.parametrize('name_variant,field,value,fix', [
    ('vae:smoke', 'batch_size', -32, '--config.batch_size=128 '),  # the schema's default
    ('vae:smoke', 'optimizer.name', 'adamm', '--config.optimizer.name=adam '),  # the closest
    ('autoregressive:smoke', 'model.architecture', 'pixelcn',
     '--config.model.architecture=pixelcnn '),
    ('vae:smoke', 'model.hidden', (32, -1), "--config.model.hidden='(500,)' "),
])
def test_the_remedy_offers_a_value_that_passes(name_variant, field, value, fix):
  config, family_def = _config_with(name_variant, field, value)
  with pytest.raises(config_lib.ConfigError, match=re.escape(fix)):
    config_lib.validate(config, family_def.schema(), ranges=family_def.ranges)


def test_ranges_skip_fields_a_config_lacks_and_accept_empty_lists_where_allowed():
  c = ml_collections.ConfigDict({'data': {'codes_path': ''}, 'model': {'hidden': ()}})
  config_lib.check_ranges(c, {'data.binarize': config_lib.BINARIZE_MODES,
                              'model.hidden': 'positive_each_or_empty'})
  with pytest.raises(config_lib.ConfigError, match=r"model.hidden=\(\) must be a non-empty"):
    config_lib.check_ranges(c, {'model.hidden': 'positive_each'})
  with pytest.raises(ValueError, match="Unknown range rule 'positve'"):
    config_lib.check_ranges(c, {'model.hidden': 'positve'})


def test_spelled_out_choices_match_the_code_that_uses_them():
  from genjax.data import pipeline  # pylint: disable=g-import-not-at-top
  from genjax.training import optimizers  # pylint: disable=g-import-not-at-top
  names = optimizers._OPTIMIZERS  # pylint: disable=protected-access
  assert list(config_lib.OPTIMIZER_NAMES) == sorted(names)
  assert config_lib.BINARIZE_MODES == pipeline.BINARIZATIONS
