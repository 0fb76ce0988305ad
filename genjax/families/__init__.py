"""Model families by name. Each module provides `schema()` and `build(config, data_info)`."""

from __future__ import annotations

import importlib

FAMILIES = ('vae', 'autoregressive', 'diffusion', 'classifier')


def get(name: str):
  if name not in FAMILIES:
    raise ValueError(f"Unknown family '{name}'; choose one of {FAMILIES} with --config.family.")
  return importlib.import_module(f'genjax.families.{name}')
