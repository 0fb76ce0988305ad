"""A toy classifier with BatchNorm: its running statistics live in `model_state`.

Training applies the network with `mutable=['batch_stats']` and returns the new
statistics from the objective; evaluation uses the running averages.
"""

from __future__ import annotations

import flax.linen as nn
import jax.numpy as jnp
import numpy as np
import optax

from genjax.training.family import Family, FamilyDef, Reporting, Training
from tests.training.toys import common


class Net(nn.Module):

  @nn.compact
  def __call__(self, x, train: bool):
    x = nn.Dense(16)(x)
    x = nn.BatchNorm(use_running_average=not train, momentum=0.9)(x)
    return nn.Dense(4)(nn.relu(x))


def labelled_ring(n: int, seed: int) -> dict[str, np.ndarray]:
  rng = np.random.default_rng(seed)
  label = rng.integers(0, 4, n)
  angle = label * np.pi / 2
  x = 3.0 + np.stack([np.cos(angle), np.sin(angle)], 1) + 0.3 * rng.standard_normal((n, 2))
  return {'x': x.astype(np.float32), 'label': label.astype(np.int32)}


def schema():
  return common.schema(model=dict(learning_rate=1e-2), data=dict(num_train=256))


def data(config, process_index, process_count):
  return common.array_data(config, labelled_ring(config.data.num_train, 8),
                           labelled_ring(128, 9), process_index, process_count,
                           num_classes=4, example_shape=(2,))


def build(config, info) -> Family:
  del info
  net = Net()

  def init_params(rng, batch):
    return {'params': net.init(rng, jnp.asarray(batch['x'][:1]), train=False)['params']}

  def init_model_state(rng, batch, params):
    del params
    return {'batch_stats': net.init(rng, jnp.asarray(batch['x'][:1]), train=False)['batch_stats']}

  def loss_fn(params, batch, rng, context):
    del rng
    logits, updated = net.apply({**params, **context.model_state}, batch['x'], train=True,
                                mutable=['batch_stats'])
    loss = optax.softmax_cross_entropy_with_integer_labels(logits, batch['label'])
    return jnp.mean(loss), ({}, {'batch_stats': updated['batch_stats']})

  def eval_fn(params, batch, rng, context):
    del rng
    logits = net.apply({**params, **context.model_state}, batch['x'], train=False)
    return {'accuracy': (jnp.argmax(logits, -1) == batch['label']).astype(jnp.float32)}

  return Family(name='toy_batchnorm', signature={'model': config.model.to_dict()},
                training=Training(init_params=init_params, init_model_state=init_model_state,
                                  loss_fn=loss_fn,
                                  make_optimizer=lambda: optax.adam(config.model.learning_rate)),
                reporting=Reporting(eval_fn=eval_fn))


FAMILY = FamilyDef(name='toy_batchnorm', schema=schema, build=build, data=data)
