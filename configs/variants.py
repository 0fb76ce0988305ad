"""Variant arg strings for `get_config(arg)`: 'smoke,mnist' applies two named variants.

Each configs/<name>.py keeps its variants in one table (name -> function that changes the
config) and exposes their names as `VARIANTS`, derived from that table; `apply` runs the
named ones in the order given and refuses a name the table lacks.
"""

from __future__ import annotations

from typing import Callable, Iterable, Mapping

import ml_collections

from genjax.config import ConfigError


def parse(arg: str | None, allowed: Iterable[str]) -> list[str]:
  """The variant names of `arg` ('smoke,cpu'), each checked against `allowed`."""
  allowed = tuple(allowed)
  names = [name.strip() for name in (arg or '').split(',') if name.strip()]
  for name in names:
    if name not in allowed:
      choices = f'choose from {sorted(allowed)}' if allowed else 'this config has none'
      raise ConfigError(f"Unknown config variant '{name}'; {choices}.")
  return names


def apply(config: ml_collections.ConfigDict, arg: str | None,
          variants: Mapping[str, Callable[[ml_collections.ConfigDict], None]]) -> None:
  for name in parse(arg, variants):
    variants[name](config)


def smoke(c: ml_collections.ConfigDict, dataset: str | None = 'digits') -> None:
  """Seconds on a laptop: scikit-learn's 8x8 digits, a few steps, tiny evaluation.

  dataset=None leaves the data alone (a family whose data is another run's output)."""
  if dataset is not None:
    c.data.name = dataset
  c.batch_size = 32
  c.eval_batch_size = 96
  c.total_steps = 8
  c.total_epochs = 0.0
  c.total_examples = 0
  c.steps_per_call = 2
  c.log_every = 2
  c.eval_every = 4
  c.eval_log_points = 0
  c.ckpt_every = 4
  c.figures_every = 0


# The code sizes at which PCA and the autoencoder are compared; Hinton & Salakhutdinov
# (2006), Fig. 2, compare them on MNIST at 30.
CODE_SIZES = (2, 5, 10, 20, 30, 50)


def code_sizes(field: str) -> dict[str, Callable[[ml_collections.ConfigDict], None]]:
  """Variants k2 ... k50, each setting `config.model.<field>` to one of CODE_SIZES."""
  return {f'k{k}': lambda c, k=k: setattr(c.model, field, k) for k in CODE_SIZES}
