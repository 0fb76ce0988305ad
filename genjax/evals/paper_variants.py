"""The size of a paper variant without data or compute: its model built for its dataset's
image shape and counted with `jax.eval_shape` (experiments.paper_variants tabulates them)."""

from __future__ import annotations

import jax
import ml_collections
import numpy as np

from genjax.data import tfds_images
from genjax.data.family_data import DataInfo
from genjax.data.sources import ImageArrays

# Training-set sizes of the datasets the paper variants name, for their epochs.
NUM_TRAIN = {'cifar10': 50000, 'lsun/bedroom': 3033042, 'lsun/church_outdoor': 126227, 'imagenet2012': 1281167,
             'imagenet_resized/32x32': 1281167, 'imagenet_resized/64x64': 1281167,
             'celeb_a': 162770}
HEADER = ['| variant | dataset | images | parameters | batch x steps | smoke counterpart |',
          '|---|---|---|---|---|---|']


def image_shape(config: ml_collections.ConfigDict) -> tuple[int, int, int]:
  """The [H, W, C] the variant's dataset gives, as the data layer prepares it."""
  spec = tfds_images.spec_of(config.data.name)
  if spec.shape:
    return spec.shape
  size = config.data.image_size or spec.size
  return (size, size, config.data.channels or 3)


def parameter_count(family_def, config: ml_collections.ConfigDict) -> int:
  """The parameters `family_def` builds for `config` at its dataset's shape."""
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


def row(config_name: str, paper: str, smoke: str, config: ml_collections.ConfigDict,
        count: int | None) -> str:
  """One markdown row; count None for a second stage, which builds over a stage 1."""
  steps = config.total_steps or (f'{config.total_epochs:g} epochs'
                                 if config.total_epochs else '?')
  steps = f'{steps:,}' if isinstance(steps, int) else steps
  shape = 'x'.join(map(str, image_shape(config)))
  size = 'over a stage 1' if count is None else f'{count:,}'
  return (f'| `configs/{config_name}.py:{paper}` | {config.data.name} | {shape} | {size} | '
          f'{config.batch_size} x {steps} | `{smoke}` |')
