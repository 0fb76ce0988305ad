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

from genjax.errors import UserError


class ConfigError(ValueError, UserError):
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
  c.data.image_dir = ''  # data.name='image_folder': <dir>/<split>/<class>/*.png|jpg
  # The side images are brought to where a dataset's own size varies (image_folder, lsun,
  # celeb_a, imagenet2012); 0 keeps each dataset's standard size.
  c.data.image_size = 0
  c.data.channels = 0  # 0 takes the dataset's; 1 or 3 makes any other count an error
  c.data.random_flip = False  # mirror each training image with probability 1/2
  c.data.prefetch = 2  # stacked batches decoded ahead, in background threads; 0: none

  c.batch_size = 128  # global, over all devices and hosts
  c.eval_batch_size = 1000
  # Exactly one of these is set (> 0); `total_steps` converts.
  c.total_steps = 0
  c.total_epochs = 0.0
  c.total_examples = 0
  c.steps_per_call = 1  # train steps fused into one compiled call with lax.scan
  # The device mesh: (data, fsdp). Params, optimiser state and EMA are split over `fsdp`
  # devices by `rules` ('REGEX=SPEC', first match wins; genjax.training.sharding_rules);
  # batches over all of them. fsdp=1: every device holds the whole state.
  c.mesh = ml_collections.ConfigDict()
  c.mesh.fsdp = 1
  c.mesh.rules = ('.*=fsdp',)
  # One update from this many micro-batches of batch_size / grad_accum_steps, computed in
  # turn: a batch larger than the devices hold at once (genjax.training.accumulation).
  c.grad_accum_steps = 1
  # Activations and matmul inputs: 'float32' or 'bfloat16' (families that declare it in
  # FamilyDef.compute_dtypes); params, optimiser state and losses stay float32.
  c.compute_dtype = 'float32'
  # Fused steps the train step's scan unrolls; 0: genjax.training.step.default_unroll.
  c.unroll_steps = 0

  c.optimizer = ml_collections.ConfigDict()
  c.optimizer.name = 'adam'  # 'adam' | 'adamw' | 'adagrad' | 'sgd'
  c.optimizer.learning_rate = 1e-3
  c.optimizer.beta1 = 0.9  # Adam's and AdamW's first-moment decay; DCGAN uses 0.5
  c.optimizer.beta2 = 0.999  # their second-moment decay; VAR uses 0.95
  c.optimizer.weight_decay = 0.0
  c.optimizer.grad_clip_norm = 0.0  # 0 disables clipping
  c.optimizer.warmup_steps = 0  # linear warmup of the learning rate from 0; 0: constant
  # Adam's and AdamW's first moment kept in 'bfloat16' halves its memory; the second
  # moment, whose small values bfloat16 would round away, stays float32.
  c.optimizer.moment_dtype = 'float32'
  c.ema_decay = 0.0  # 0 keeps no EMA params
  # On a non-finite loss or state: False stops the run; True rolls back to the last
  # checkpoint and skips the batch of the offending step (logged; at most 10 times).
  c.skip_non_finite = False

  # Intervals in steps; 0 disables. Evaluation also runs at the end.
  c.log_every = 100
  c.eval_every = 1000
  c.eval_log_points = 0  # extra evaluations at log-spaced steps, for log-x learning curves
  c.ckpt_every = 1000
  c.keep_checkpoints = 2
  # Also save when this many minutes of training passed since the last save; 0: steps only.
  c.ckpt_every_minutes = 10.0
  c.figures_every = 0
  # 'START:COUNT' traces COUNT train steps, from the first compiled call at or after step
  # START, with jax.profiler into <workdir>/profile (genjax.training.profile_window);
  # '' traces nothing.
  c.profile_steps = ''

  c.model = ml_collections.ConfigDict()
  c.objective = ml_collections.ConfigDict()
  c.eval = ml_collections.ConfigDict()
  return c


# The keys of genjax.training.optimizers._OPTIMIZERS and genjax.data.pipeline.BINARIZATIONS,
# spelled out so that validating a config imports neither optax nor the data code
# (tests/test_configs.py keeps them equal).
OPTIMIZER_NAMES = ('adagrad', 'adam', 'adamw', 'sgd')
BINARIZE_MODES = ('none', 'dynamic', 'static')
COMPUTE_DTYPES = ('float32', 'bfloat16')

BASE_RANGES = {
    'seed': 'non_negative',
    'batch_size': 'positive',
    'eval_batch_size': 'positive',
    'total_steps': 'non_negative',
    'total_epochs': 'non_negative',
    'total_examples': 'non_negative',
    'steps_per_call': 'positive',
    'grad_accum_steps': 'positive',
    'mesh.fsdp': 'positive',
    'compute_dtype': COMPUTE_DTYPES,
    'unroll_steps': 'non_negative',
    'log_every': 'non_negative',
    'eval_every': 'non_negative',
    'eval_log_points': 'non_negative',
    'ckpt_every': 'non_negative',
    'ckpt_every_minutes': 'non_negative',
    'figures_every': 'non_negative',
    'keep_checkpoints': 'positive',
    'optimizer.name': OPTIMIZER_NAMES,
    'optimizer.learning_rate': 'positive',
    'optimizer.beta1': 'unit_interval',
    'optimizer.beta2': 'unit_interval',
    'optimizer.weight_decay': 'non_negative',
    'optimizer.grad_clip_norm': 'non_negative',
    'optimizer.warmup_steps': 'non_negative',
    'optimizer.moment_dtype': COMPUTE_DTYPES,
    'ema_decay': 'unit_interval',
    # Skipped where a family's sections lack them (its own data, no example counts).
    'data.binarize': BINARIZE_MODES,
    'eval.test_examples': 'non_negative',  # 0: the whole test set
    'eval.train_examples': 'non_negative',
}


def validate(config: ml_collections.ConfigDict, schema: ml_collections.ConfigDict,
             ranges: Mapping[str, Any] | None = None) -> None:
  """Raises ConfigError naming the field and the remedy if `config` strays from `schema`.

  `ranges`: the family's own constraints on its fields (see FamilyDef.ranges), checked
  with BASE_RANGES once the fields' names and types are known to be right, so that a bad
  value fails here and not inside a model or a data stream.
  """
  _check(config.to_dict(), schema.to_dict(), prefix='')
  check_ranges(config, {**BASE_RANGES, **(ranges or {})}, examples=schema)
  durations = {n: config[n] for n in ('total_steps', 'total_epochs', 'total_examples')
               if config[n] > 0}
  if len(durations) != 1:
    given = ', '.join(f'{n}={v}' for n, v in durations.items()) or 'none'
    raise ConfigError(
        'Set exactly one of total_steps, total_epochs, total_examples to a positive value '
        f'(got {given}). Zero the others, e.g. --config.total_steps=500 '
        '--config.total_epochs=0.')
  for name in ('log_every', 'eval_every', 'ckpt_every', 'figures_every'):
    if config[name] and config[name] % config.steps_per_call:
      raise ConfigError(
          f'{name}={config[name]} is not a multiple of steps_per_call={config.steps_per_call}; '
          'intervals are checked between compiled calls.')
  parse_profile_steps(config.get('profile_steps', ''))


def parse_profile_steps(profile_steps: str) -> tuple[int, int] | None:
  """(START, COUNT) of a `profile_steps` value, None for ''; ConfigError if malformed."""
  if not profile_steps:
    return None
  start, colon, count = (part.strip() for part in profile_steps.partition(':'))
  if colon and start.isdecimal() and count.isdecimal() and int(count) > 0:
    return int(start), int(count)
  raise ConfigError(f'profile_steps={profile_steps}: expected START:COUNT, the first train step '
                    'to trace and how many (COUNT > 0), e.g. --config.profile_steps=10:5; '
                    "'' traces nothing.")


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


def check_ranges(config: ml_collections.ConfigDict, ranges: Mapping[str, Any],
                 examples: ml_collections.ConfigDict | None = None) -> None:
  """Raises ConfigError for the first field of `config` that breaks its rule in `ranges`.

  Args:
    config: the experiment config.
    ranges: dotted field path -> rule. A rule is 'positive' (> 0), 'non_negative' (>= 0),
      'unit_interval' (0 <= v < 1), 'positive_each' (a non-empty list of numbers > 0),
      'positive_each_or_empty' (the same, possibly empty) or a tuple of allowed values.
      A path the config lacks is skipped: a family may replace a whole section (`data`).
    examples: a config whose values the message offers as the fix (the schema's
      defaults); without it, the closest allowed value or a plain one.

  Example: check_ranges(c, {'model.latent_dim': 'positive'}) with c.model.latent_dim = 0
  raises "model.latent_dim=0 must be a positive integer; set --config.model.latent_dim=1
  (or another positive integer)."
  """
  values = config.to_dict()
  defaults = examples.to_dict() if examples is not None else {}
  for path, rule in ranges.items():
    found, value = _lookup(values, path)
    if not found or value is None:
      continue
    if isinstance(rule, tuple):
      if value not in rule:
        fix = _enum_fix(value, rule, _lookup(defaults, path)[1])
        raise ConfigError(f'{path}={value!r} is not one of {rule}; set '
                          f'--config.{path}={fix} (or another of those).')
      continue
    if rule not in _RULES:
      raise ValueError(f"Unknown range rule {rule!r} for '{path}'; use one of "
                       f'{sorted(_RULES)} or a tuple of allowed values.')
    holds, fallback = _RULES[rule]
    if not holds(value):
      has_default, default = _lookup(defaults, path)
      kind = _describe(rule, default if has_default else value)
      fix = default if has_default and holds(default) else fallback
      raise ConfigError(f'{path}={value!r} must be {kind}; '
                        f'set --config.{path}={flag_value(fix)} '
                        f'(or another {kind.removeprefix("a ")}).')


def _is_number(v: Any) -> bool:
  return isinstance(v, (int, float)) and not isinstance(v, bool)


def _positive_each(v: Any) -> bool:
  return isinstance(v, (tuple, list)) and all(_is_number(x) and x > 0 for x in v)


# rule -> (whether a value keeps it, a value that does, offered when no example fits)
_RULES = {
    'positive': (lambda v: _is_number(v) and v > 0, 1),
    'non_negative': (lambda v: _is_number(v) and v >= 0, 0),
    'unit_interval': (lambda v: _is_number(v) and 0 <= v < 1, 0.0),
    'positive_each': (lambda v: _positive_each(v) and len(v) > 0, (1,)),
    'positive_each_or_empty': (_positive_each, ()),
}


def _describe(rule: str, like: Any) -> str:
  noun = 'integer' if isinstance(like, int) and not isinstance(like, bool) else 'number'
  return {'positive': f'a positive {noun}',
          'non_negative': f'a non-negative {noun}',
          'unit_interval': 'a number in [0, 1)',
          'positive_each': 'a non-empty list of positive numbers',
          'positive_each_or_empty': 'a list of positive numbers (or empty)'}[rule]


def _enum_fix(value: Any, allowed: tuple, default: Any) -> Any:
  """The allowed value closest to a typo, else the schema's default, else the first."""
  if isinstance(value, str):
    close = difflib.get_close_matches(value, [a for a in allowed if isinstance(a, str)], n=1)
    if close:
      return close[0]
  return default if default in allowed else allowed[0]


def flag_value(value: Any) -> str:
  """How a value is written after --config.field=; lists are quoted for the shell."""
  return f"'{tuple(value)!r}'" if isinstance(value, (tuple, list)) else str(value)


def _lookup(values: Mapping[str, Any], path: str) -> tuple[bool, Any]:
  for key in path.split('.'):
    if not isinstance(values, Mapping) or key not in values:
      return False, None
    values = values[key]
  return True, values


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

