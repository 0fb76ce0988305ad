"""The papers' settings at a glance: every paper variant's dataset, model size and run.

    python -m experiments.paper_variants --out=results/paper_variants/table.md

Each configs/<name>.py lists its paper variants in PAPER_VARIANTS. This builds each one's
model for its dataset's image shape without data or compute (`jax.eval_shape`) and counts
its parameters. Second stages (code_prior, var) build over a trained stage 1, so they are
listed without a count; tests/models/test_var.py counts VAR d16's transformer.
"""

from __future__ import annotations

import glob
import importlib
import os

import jax
import numpy as np
from absl import app, flags

from genjax.data import tfds_images
from genjax.data.family_data import DataInfo
from genjax.data.sources import ImageArrays

_OUT = flags.DEFINE_string('out', '', 'write the markdown table here as well')
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SECOND_STAGES = ('code_prior', 'var')
# Training-set sizes of the datasets the paper variants name, for their epochs.
NUM_TRAIN = {'cifar10': 50000, 'lsun/bedroom': 3033042, 'imagenet2012': 1281167,
             'imagenet_resized/32x32': 1281167, 'imagenet_resized/64x64': 1281167,
             'celeb_a': 162770}


def image_shape(config) -> tuple[int, int, int]:
  spec = tfds_images.spec_of(config.data.name)
  if spec.shape:
    return spec.shape
  size = config.data.image_size or spec.size
  return (size, size, config.data.channels or 3)


def parameter_count(family_def, config) -> int:
  shape = image_shape(config)
  spec = tfds_images.spec_of(config.data.name)
  rng = np.random.default_rng(0)
  test = ImageArrays(config.data.name, 'test', rng.integers(0, 256, (16,) + shape, np.uint8),
                     rng.integers(0, max(spec.num_classes, 1), 16).astype(np.int32),
                     source='shapes only', num_classes=spec.num_classes)
  info = DataInfo(num_train=NUM_TRAIN[config.data.name], num_classes=spec.num_classes,
                  example_shape=shape, test_images=test)
  family = family_def.build(config, info)
  batch = {'image': np.zeros((2,) + shape, np.float32), 'label': np.zeros(2, np.int32)}
  params = jax.eval_shape(family.training.init_params, jax.random.PRNGKey(0), batch)
  return int(sum(np.prod(p.shape) for p in jax.tree.leaves(params)))


def rows() -> list[str]:
  out = ['| variant | dataset | images | parameters | batch x steps | smoke counterpart |',
         '|---|---|---|---|---|---|']
  for path in sorted(glob.glob(os.path.join(REPO, 'configs', '*.py'))):
    name = os.path.basename(path)[:-3]
    module = importlib.import_module(f'configs.{name}')
    for paper, smoke in getattr(module, 'PAPER_VARIANTS', {}).items():
      config = module.get_config(paper)
      if name in SECOND_STAGES:
        count = 'over a stage 1'
      else:
        family_def = importlib.import_module(f'genjax.families.{config.family}').FAMILY
        count = f'{parameter_count(family_def, config):,}'
      steps = config.total_steps or (
          f'{config.total_epochs:g} epochs' if config.total_epochs else '?')
      steps = f'{steps:,}' if isinstance(steps, int) else steps
      shape = 'x'.join(map(str, image_shape(config)))
      out.append(f'| `configs/{name}.py:{paper}` | {config.data.name} | {shape} | {count} | '
                 f'{config.batch_size} x {steps} | `{smoke}` |')
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
