"""A toy second stage: linear regression on the projection of a trained toy PCA run.

The first stage's params come from its workdir through `restore.load_run`, enter the step
as `frozen`, and are recorded as the run's upstream; only the regression is trained.
"""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np

from genjax.training import restore
from genjax.training.family import Family, FamilyDef
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


def loss_fn(params, model_state, batch, rng, frozen):
  del rng
  return jnp.mean((predict(params, frozen, batch['x']) - batch['y']) ** 2), ({}, model_state)


def build(config, info) -> Family:
  del info
  upstream = restore.load_run(config.model.upstream, family='toy_pca',
                              train_command='a toy_pca run (tests/training/toys/pca.py)')
  k = upstream.params['components'].shape[1]

  def eval_fn(params, model_state, batch, rng, frozen):
    del model_state, rng
    return {'squared_error': (predict(params, frozen, batch['x']) - batch['y']) ** 2}

  return Family(name='toy_two_stage', signature={'features': k},
                init_params=lambda rng, batch: {'w': jnp.zeros((k,)), 'b': jnp.zeros(())},
                loss_fn=loss_fn, eval_fn=eval_fn, frozen=upstream.params,
                upstream=upstream.record())


FAMILY = FamilyDef(name='toy_two_stage', schema=schema, build=build, data=data)
