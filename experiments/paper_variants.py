"""The papers' settings at a glance: every paper variant's dataset, model size and run.

    python -m experiments.paper_variants --out=results/paper_variants/table.md

Each configs/<name>.py lists its paper variants in PAPER_VARIANTS. This builds each one's
model for its dataset's image shape without data or compute (`jax.eval_shape`) and counts
its parameters (genjax.evals.paper_variants). Second stages (code_prior, var) build over a
trained stage 1, so they are listed without a count; tests/models/test_var.py counts VAR
d16's transformer.
"""

from __future__ import annotations

import glob
import importlib
import os

from absl import app, flags

from genjax.evals import paper_variants

_OUT = flags.DEFINE_string('out', '', 'write the markdown table here as well')
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SECOND_STAGES = ('code_prior', 'var')


def config_modules() -> dict[str, object]:
  """configs/<name>.py modules that have PAPER_VARIANTS, by name."""
  modules = {}
  for path in sorted(glob.glob(os.path.join(REPO, 'configs', '*.py'))):
    name = os.path.basename(path)[:-3]
    module = importlib.import_module(f'configs.{name}')
    if getattr(module, 'PAPER_VARIANTS', None):
      modules[name] = module
  return modules


def rows() -> list[str]:
  out = list(paper_variants.HEADER)
  for name, module in config_modules().items():
    for paper, smoke in module.PAPER_VARIANTS.items():
      config = module.get_config(paper)
      count = None
      if name not in SECOND_STAGES:
        family_def = importlib.import_module(f'genjax.families.{config.family}').FAMILY
        count = paper_variants.parameter_count(family_def, config)
      out.append(paper_variants.row(name, paper, smoke, config, count))
  return out


def main(argv):
  del argv
  table = '\n'.join(rows())
  print(table)
  if _OUT.value:
    os.makedirs(os.path.dirname(_OUT.value) or '.', exist_ok=True)
    with open(_OUT.value, 'w') as f:
      f.write(table + '\n')


if __name__ == '__main__':
  app.run(main)
