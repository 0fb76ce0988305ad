"""PCA in one step: the update sets params to the top right singular vectors of the
centred batch, which is the whole training set."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np

from genjax.training.family import Family, FamilyDef, Reporting, Training
from tests.training.toys import common

DIM = 6


def anisotropic_points(n: int, seed: int) -> np.ndarray:
  """Points whose covariance has well separated eigenvalues, in a random basis."""
  rng = np.random.default_rng(seed)
  basis, _ = np.linalg.qr(rng.standard_normal((DIM, DIM)))
  scales = np.array([5.0, 3.0, 2.0, 0.5, 0.2, 0.1])
  return ((rng.standard_normal((n, DIM)) * scales) @ basis.T + 1.0).astype(np.float32)


def schema():
  return common.schema(model=dict(components=2), data=dict(num_train=200))


def data(config, process_index, process_count):
  points = {'x': anisotropic_points(config.data.num_train, 4)}
  return common.array_data(config, points, points, process_index, process_count,
                           example_shape=(DIM,))


def build(config, info) -> Family:
  del info
  k = config.model.components

  def init_params(rng, batch):
    del rng
    return {'mean': jnp.zeros((DIM,)), 'components': jnp.eye(DIM, k)}

  def update_fn(state, batch, rng, frozen):
    del rng, frozen
    x = batch['x']
    mean = x.mean(0)
    _, singular_values, vt = jnp.linalg.svd(x - mean, full_matrices=False)
    explained = jnp.sum(singular_values[:k] ** 2) / jnp.sum(singular_values ** 2)
    return (state.replace(params={'mean': mean, 'components': vt[:k].T}),
            {'loss': 1.0 - explained})

  def eval_fn(params, batch, rng, context):
    del rng, context
    centred = batch['x'] - params['mean']
    reconstruction = centred @ params['components'] @ params['components'].T
    return {'reconstruction_error': jnp.sum((centred - reconstruction) ** 2, -1)}

  return Family(name='toy_pca',
                signature={'model': config.model.to_dict(), 'data': config.data.to_dict()},
                training=Training(init_params=init_params, update_fn=update_fn,
                                  make_optimizer=lambda: None),
                reporting=Reporting(eval_fn=eval_fn))


FAMILY = FamilyDef(name='toy_pca', schema=schema, build=build, data=data)
