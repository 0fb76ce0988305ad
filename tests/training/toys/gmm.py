"""A toy Gaussian mixture fitted by EM, with streaming sufficient statistics.

Each step adds its batch's E-step statistics (responsibility-weighted counts, sums and
sums of squares) to `model_state`; the last step of each epoch does the M-step from them
and resets them. An epoch visits every point once, so each epoch is one exact EM
iteration on the whole training set, and its log-likelihood never decreases.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from genjax.training.family import Family, FamilyDef, Reporting, Training
from tests.training.toys import common

VARIANCE_FLOOR = 1e-3


def three_clusters(n: int, seed: int) -> np.ndarray:
  rng = np.random.default_rng(seed)
  centres = np.array([[0.0, 0.0], [2.0, 0.5], [0.5, 2.0]])
  return (centres[rng.integers(0, 3, n)] + 0.5 * rng.standard_normal((n, 2))).astype(np.float32)


def schema():
  return common.schema(model=dict(components=3), data=dict(num_train=128))


def data(config, process_index, process_count):
  points = {'x': three_clusters(config.data.num_train, 3)}
  # The test split is the training set itself: EM's guarantee is about that likelihood.
  return common.array_data(config, points, points, process_index, process_count,
                           example_shape=(2,))


def log_joint(params, x):
  """log p(x, k) for every point and component: [N, K]."""
  var = params['variances']
  log_normal = -0.5 * jnp.sum(jnp.log(2 * jnp.pi * var)[None]
                              + (x[:, None] - params['means'][None]) ** 2 / var[None], -1)
  return jnp.log(params['weights'])[None] + log_normal


def sufficient_statistics(params, x):
  resp = jax.nn.softmax(log_joint(params, x), axis=-1)
  return {'n': resp.sum(0), 'sx': resp.T @ x, 'sxx': resp.T @ x ** 2}


def m_step(stats):
  n = stats['n'][:, None]
  means = stats['sx'] / n
  return {'weights': stats['n'] / stats['n'].sum(), 'means': means,
          'variances': jnp.maximum(stats['sxx'] / n - means ** 2, VARIANCE_FLOOR)}


def build(config, info) -> Family:
  k = config.model.components
  steps_per_epoch = info.num_train // config.batch_size

  def init_params(rng, batch):
    x = jnp.asarray(batch['x'])
    means = x[jax.random.choice(rng, len(x), (k,), replace=False)]
    return {'weights': jnp.full((k,), 1.0 / k), 'means': means,
            'variances': jnp.tile(jnp.var(x, 0)[None], (k, 1))}

  def init_model_state(rng, batch, params):
    del rng, batch
    return jax.tree.map(jnp.zeros_like, sufficient_statistics(params, jnp.zeros((1, 2))))

  def update_fn(state, batch, rng, frozen):
    del rng, frozen
    x = batch['x']
    stats = jax.tree.map(jnp.add, state.model_state, sufficient_statistics(state.params, x))
    epoch_done = (state.step + 1) % steps_per_epoch == 0
    params = jax.tree.map(lambda new, old: jnp.where(epoch_done, new, old), m_step(stats),
                          state.params)
    stats = jax.tree.map(lambda s: jnp.where(epoch_done, jnp.zeros_like(s), s), stats)
    loss = -jnp.mean(jax.nn.logsumexp(log_joint(state.params, x), -1))
    return state.replace(params=params, model_state=stats), {'loss': loss}

  def eval_fn(params, batch, rng, context):
    del rng, context
    return {'log_likelihood': jax.nn.logsumexp(log_joint(params, batch['x']), -1)}

  return Family(name='toy_gmm', signature={'model': config.model.to_dict()},
                training=Training(init_params=init_params, init_model_state=init_model_state,
                                  update_fn=update_fn, make_optimizer=lambda: None),
                reporting=Reporting(eval_fn=eval_fn))


FAMILY = FamilyDef(name='toy_gmm', schema=schema, build=build, data=data)
