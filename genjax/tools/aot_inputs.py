"""A config's family and its train step's inputs without its data: the family built from a
`DataInfo` of its dataset's shape (as `genjax.load` builds one, no test images), one
example batch from the real train stream over a few blank examples, and the global
batches of one call as `jax.ShapeDtypeStruct`s sharded as the loop shards them.

A second stage (VAR, the code prior) reads a trained stage-1 VQ-VAE. With
`data.stage1_workdir` set it reads that run, as training would; without one, a stage 1 of
shapes only stands in for it (`shapes_only_stage1`), built from `data.stage1_config`: its
params as `ShapeDtypeStruct`s and its token grid, which is all the compiled step needs.
"""

from __future__ import annotations

import contextlib
import dataclasses
import importlib
import sys
import types
from typing import Callable
from unittest import mock

import jax
import ml_collections
import numpy as np

from genjax.data import natural_patches
from genjax.data.arrays import ArrayStream
from genjax.data.codes import CodeGrids, code_grid_stream
from genjax.data.family_data import DataInfo
from genjax.data.image_data import image_data
from genjax.data.pipeline import TrainStream
from genjax.data.sources import ImageArrays
from genjax.data.tfds_images import spec_of
from genjax.errors import UserError
from genjax.evals import paper_variants
from genjax.families import vqvae
from genjax.objectives.vqvae import objective_from_signature
from genjax.stage2.codes import code_prior_data
from genjax.stage2.first_stage import Stage1
from genjax.training import mesh as mesh_lib
from genjax.training.family import Family, FamilyDef
from genjax.training.restore import SavedRun

# Datasets that TFDS does not describe: (image shape or None for the config's, classes,
# training images). The count only sizes epochs, which the compiled step never reads.
_OTHER_DATASETS = {'digits': ((8, 8, 1), 10, 1500),
                   'natural_patches': ((natural_patches.PATCH,) * 2 + (3,), 2, 0),
                   'image_folder': (None, 0, 0)}
_NUM_TRAIN = {**paper_variants.NUM_TRAIN, 'mnist': 60000, 'fashion_mnist': 60000}
_BLANK_EXAMPLES = 2  # rows of the example batch; params do not depend on the batch size


@dataclasses.dataclass(frozen=True)
class Built:
  """A family built without data, and its step's inputs.

  Attributes:
    family: the built family.
    example: one small batch as the train stream gives it (numpy), for init.
    batches: one call's global batches, [steps_per_call, batch_size, ...] ShapeDtypeStructs.
    frozen: the upstream params as ShapeDtypeStructs (or None).
  """
  family: Family
  example: dict
  batches: dict
  frozen: object


def family_def_of(config: ml_collections.ConfigDict) -> FamilyDef:
  return importlib.import_module(f'genjax.families.{config.family}').FAMILY


def dataset_facts(d: ml_collections.ConfigDict) -> tuple[tuple[int, ...], int, int]:
  """([H, W, C], classes, training images) of the dataset a `data` section names."""
  spec = spec_of(d.name)
  if spec is not None:
    return (paper_variants.image_shape(types.SimpleNamespace(data=d)), spec.num_classes,
            _NUM_TRAIN.get(d.name, 0))
  if d.name not in _OTHER_DATASETS:
    raise UserError(f'data.name={d.name!r}: no image shape known for it without the data; '
                    'name an image dataset (cifar10, mnist, imagenet2012, ...).')
  shape, classes, count = _OTHER_DATASETS[d.name]
  if shape is None:
    size = d.get('image_size', 0)
    if not size:
      raise UserError(f'data.name={d.name!r} takes its size from data.image_size; set '
                      '--config.data.image_size.')
    shape = (size, size, d.get('channels', 0) or 3)
  return shape, classes, count


def build(family_def: FamilyDef, config: ml_collections.ConfigDict, mesh,
          stage1_config: Callable[[str], ml_collections.ConfigDict] | None = None) -> Built:
  """`family_def` built for `config` without its data, and its step's abstract inputs over
  `mesh`. `stage1_config` turns `data.stage1_config` into a configs/vqvae.py config, for a
  second stage whose stage 1 is not trained."""
  if family_def.data is image_data:
    shape, classes, count = dataset_facts(config.data)
    info = DataInfo(num_train=count, num_classes=classes, example_shape=shape)
    family = family_def.build(config, info)
    stream = TrainStream(_blank_images(config.data.name, shape, classes),
                         global_batch_size=_BLANK_EXAMPLES, seed=config.seed,
                         binarize=config.data.binarize,
                         random_flip=config.data.get('random_flip', False))
  elif family_def.data is code_prior_data:
    family, stream = _second_stage(family_def, config, stage1_config)
  else:
    raise UserError(f"The '{family_def.name}' family reads text or features, whose shapes "
                    'are not known without the data; this tool compiles image families and '
                    'the priors over a VQ-VAE\'s codes.')
  example = stream.batch(0)
  sharding = mesh_lib.batch_sharding(mesh, batch_axis=1)
  batches = {k: jax.ShapeDtypeStruct((config.steps_per_call, config.batch_size) + v.shape[1:],
                                     v.dtype, sharding=sharding) for k, v in example.items()}
  frozen = jax.tree.map(lambda x: jax.ShapeDtypeStruct(x.shape, x.dtype,
                                                       sharding=mesh_lib.replicated(mesh)),
                        family.training.frozen)
  return Built(family=family, example=example, batches=batches, frozen=frozen)


def _blank_images(name: str, shape, classes: int) -> ImageArrays:
  return ImageArrays(name, 'train', np.zeros((_BLANK_EXAMPLES,) + tuple(shape), np.uint8),
                     np.zeros(_BLANK_EXAMPLES, np.int32), source='shapes only',
                     num_classes=max(classes, 1))


def _second_stage(family_def, config, stage1_config) -> tuple[Family, ArrayStream]:
  d = config.data
  if d.stage1_workdir:
    data = family_def.data(config)  # the trained stage 1's codes, as training reads them
    info = dataclasses.replace(data.info, test_images=None)  # built as genjax.load builds it
    return family_def.build(config, info), data.train
  if not d.stage1_config or stage1_config is None:
    raise UserError(f"The '{family_def.name}' family compiles over a stage-1 VQ-VAE; name "
                    'one with --config.data.stage1_config (its configs/vqvae.py variants) '
                    'or --config.data.stage1_workdir (a trained run).')
  s1 = stage1_config(d.stage1_config)
  shape, classes, count = dataset_facts(s1.data)
  stage1 = shapes_only_stage1(s1, shape, classes, count)
  info = DataInfo(num_train=count, num_classes=classes, example_shape=stage1.code_shape,
                  vocab_size=stage1.num_codes)
  with _reading(family_def, stage1):
    family = family_def.build(config, info)
  grids = CodeGrids(codes=np.zeros((_BLANK_EXAMPLES,) + tuple(stage1.code_shape), np.int32),
                    labels=np.zeros(_BLANK_EXAMPLES, np.int32) if classes else None,
                    num_codes=stage1.num_codes, source={})
  return family, code_grid_stream(grids, global_batch_size=_BLANK_EXAMPLES, seed=config.seed)


def shapes_only_stage1(config: ml_collections.ConfigDict, image_shape, num_classes: int,
                       num_train: int) -> Stage1:
  """The stage 1 that `config` (a vqvae config) would train, with ShapeDtypeStructs for
  its params and codebook state: its network and token grid, never its values."""
  family = vqvae.build(config, DataInfo(num_train=num_train, num_classes=num_classes,
                                        example_shape=tuple(image_shape)))
  example = {'image': np.zeros((_BLANK_EXAMPLES,) + tuple(image_shape), np.float32),
             'label': np.zeros(_BLANK_EXAMPLES, np.int32)}
  training, rng = family.training, jax.random.PRNGKey(0)
  params = jax.eval_shape(training.init_params, rng, example)
  model_state = (jax.eval_shape(training.init_model_state, rng, example, params)
                 if training.init_model_state else None)
  run = SavedRun(workdir='(shapes only: no trained stage 1)', config=config, step=0,
                 signature=family.signature, params=params, ema_params=None,
                 model_state=model_state, upstream=None, finished=True)
  return Stage1(run, objective_from_signature(family.signature))


@contextlib.contextmanager
def _reading(family_def: FamilyDef, stage1: Stage1):
  """`family_def.build` reading `stage1` where it would load a trained run: a second stage
  finds its stage 1 by workdir (`load_stage1`), which a compile without one lacks."""
  module = sys.modules[family_def.build.__module__]
  if not hasattr(module, 'load_stage1'):
    raise UserError(f"The '{family_def.name}' family reads its stage 1 from a trained run "
                    'only; compile it with --config.data.stage1_workdir=<that run>.')
  with mock.patch.object(module, 'load_stage1', lambda workdir: stage1):
    yield
