"""The base config every experiment is validated against, and the duration helper.

Experiment configs (`configs/<name>.py`) start from `base_config()` and change fields;
a family adds its own `model` and `objective` sections. `validate` then checks the
result against the base plus the family's schema, so a mistyped field fails before
anything compiles (jaxline's habit).
"""

from __future__ import annotations

import difflib
from typing import Any, Mapping

import ml_collections


class ConfigError(ValueError):
  """A config field is unknown, mistyped or inconsistent."""


def base_config() -> ml_collections.ConfigDict:
  """Fields shared by every experiment. Durations are in steps, epochs or examples."""
  c = ml_collections.ConfigDict()
  c.family = ''
  c.seed = 0

  c.data = ml_collections.ConfigDict()
  c.data.name = 'fashion_mnist'
  c.data.binarize = 'dynamic'  # 'none' | 'dynamic' (resampled per use) | 'static' (fixed by seed)
  c.data.tfds_data_dir = ''  # '' means TFDS's default (~/tensorflow_datasets or $TFDS_DATA_DIR)
  c.data.tfds_download = False  # prepare from the internet; needs genjax[tfds-prepare]
  c.data.idx_dir = ''  # a directory of MNIST-format IDX files

  c.batch_size = 128  # global, over all devices and hosts
  c.eval_batch_size = 1000
  # Exactly one of these is set (> 0); `total_steps` converts.
  c.total_steps = 0
  c.total_epochs = 0.0
  c.total_examples = 0
  c.steps_per_call = 1  # train steps fused into one compiled call with lax.scan

  c.optimizer = ml_collections.ConfigDict()
  c.optimizer.name = 'adam'  # 'adam' | 'adamw' | 'adagrad' | 'sgd'
  c.optimizer.learning_rate = 1e-3
  c.optimizer.weight_decay = 0.0
  c.optimizer.grad_clip_norm = 0.0  # 0 disables clipping
  c.optimizer.warmup_steps = 0  # linear warmup of the learning rate from 0; 0: constant
  c.ema_decay = 0.0  # 0 keeps no EMA params

  # Intervals in steps; 0 disables. Evaluation also runs at the end.
  c.log_every = 100
  c.eval_every = 1000
  c.eval_log_points = 0  # extra evaluations at log-spaced steps, for log-x learning curves
  c.ckpt_every = 1000
  c.keep_checkpoints = 2
  c.figures_every = 0

  c.model = ml_collections.ConfigDict()
  c.objective = ml_collections.ConfigDict()
  c.eval = ml_collections.ConfigDict()
  return c


def validate(config: ml_collections.ConfigDict,
             schema: ml_collections.ConfigDict) -> None:
  """Raises ConfigError naming the field and the remedy if `config` strays from `schema`."""
  _check(config.to_dict(), schema.to_dict(), prefix='')
  durations = {n: config[n] for n in ('total_steps', 'total_epochs', 'total_examples')
               if config[n] > 0}
  if len(durations) != 1:
    given = ', '.join(f'{n}={v}' for n, v in durations.items()) or 'none'
    raise ConfigError(
        'Set exactly one of total_steps, total_epochs, total_examples to a positive value '
        f'(got {given}). Zero the others, e.g. --config.total_steps=500 '
        '--config.total_epochs=0.')
  if config.steps_per_call < 1:
    raise ConfigError('steps_per_call must be >= 1.')
  for name in ('log_every', 'eval_every', 'ckpt_every', 'figures_every'):
    if config[name] and config[name] % config.steps_per_call:
      raise ConfigError(
          f'{name}={config[name]} is not a multiple of steps_per_call={config.steps_per_call}; '
          'intervals are checked between compiled calls.')


def _check(value: Mapping[str, Any], schema: Mapping[str, Any], prefix: str) -> None:
  for key, v in value.items():
    path = f'{prefix}{key}'
    if key not in schema:
      close = difflib.get_close_matches(key, list(schema), n=1)
      hint = f" Did you mean '{prefix}{close[0]}'?" if close else ''
      raise ConfigError(
          f"Unknown config field '{path}'.{hint} Valid fields here: {sorted(schema)}.")
    expected = schema[key]
    if isinstance(expected, Mapping):
      if not isinstance(v, Mapping):
        raise ConfigError(f"Config field '{path}' must be a section, got {v!r}.")
      _check(v, expected, prefix=path + '.')
    elif expected is not None and v is not None and not _same_kind(v, expected):
      raise ConfigError(
          f"Config field '{path}' must be {type(expected).__name__} "
          f"(like {expected!r}), got {type(v).__name__} {v!r}.")


def _same_kind(value: Any, expected: Any) -> bool:
  if isinstance(expected, bool) or isinstance(value, bool):
    return isinstance(value, bool) and isinstance(expected, bool)
  if isinstance(expected, float):
    return isinstance(value, (int, float))
  if isinstance(expected, (tuple, list)):
    return isinstance(value, (tuple, list))
  return isinstance(value, type(expected))


def with_family_schema(model: Mapping[str, Any], objective: Mapping[str, Any] = (),
                       eval_: Mapping[str, Any] = (),
                       data: Mapping[str, Any] | None = None) -> ml_collections.ConfigDict:
  """The base schema with a family's `model`, `objective` and `eval` sections filled in.

  `data` replaces the image data section for a family that brings its own data (text, code
  grids, synthetic points); None keeps the image one.
  """
  schema = base_config()
  if data is not None:
    schema.data = ml_collections.ConfigDict(dict(data))
  schema.model = ml_collections.ConfigDict(dict(model))
  schema.objective = ml_collections.ConfigDict(dict(objective))
  schema.eval = ml_collections.ConfigDict(dict(eval_))
  return schema


def total_steps(config: ml_collections.ConfigDict, num_train_examples: int) -> int:
  """Converts whichever duration the config sets into optimizer steps."""
  if config.total_steps > 0:
    return int(config.total_steps)
  if config.total_epochs > 0:
    examples = config.total_epochs * num_train_examples
  else:
    examples = config.total_examples
  steps = max(1, int(round(examples / config.batch_size)))
  # Whole compiled calls only: round up to a multiple of steps_per_call.
  k = config.steps_per_call
  return -(-steps // k) * k


def lock(config: ml_collections.ConfigDict) -> ml_collections.ConfigDict:
  """Locks a config so that `--config.typo=1` fails with ml_collections' own suggestion."""
  config.lock()
  return config

