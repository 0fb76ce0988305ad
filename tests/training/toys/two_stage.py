"""A toy second stage: linear regression on the projection of a trained toy PCA run.

The first stage's params come from its workdir through `restore.load_run`, enter the step
as `frozen`, and are recorded as the run's upstream; only the regression is trained.
"""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np

from genjax.training import restore
from genjax.training.family import Family, FamilyDef, Reporting, Training
from tests.training.toys import common, pca


def schema():
  return common.schema(model=dict(upstream=''), data=dict(num_train=200))


def data(config, process_index, process_count):
  x = pca.anisotropic_points(config.data.num_train, 4)
  y = (x @ np.linspace(-1.0, 1.0, pca.DIM) / pca.DIM).astype(np.float32)
  return common.array_data(config, {'x': x, 'y': y}, {'x': x, 'y': y}, process_index,
                           process_count, example_shape=(pca.DIM,))


def predict(params, frozen, x):
  features = (x - frozen['mean']) @ frozen['components']
  return features @ params['w'] + params['b']


def loss_fn(params, batch, rng, context):
  del rng
  return jnp.mean((predict(params, context.frozen, batch['x']) - batch['y']) ** 2), {}


def build(config, info) -> Family:
  del info
  upstream = restore.load_run(config.model.upstream, family='toy_pca',
                              train_command='a toy_pca run (tests/training/toys/pca.py)')
  k = upstream.params['components'].shape[1]

  def eval_fn(params, batch, rng, context):
    del rng
    return {'squared_error': (predict(params, context.frozen, batch['x']) - batch['y']) ** 2}

  return Family(name='toy_two_stage', signature={'features': k},
                training=Training(
                    init_params=lambda rng, batch: {'w': jnp.zeros((k,)), 'b': jnp.zeros(())},
                    loss_fn=loss_fn, frozen=upstream.params, upstream=upstream.record()),
                reporting=Reporting(eval_fn=eval_fn))


FAMILY = FamilyDef(name='toy_two_stage', schema=schema, build=build, data=data)
