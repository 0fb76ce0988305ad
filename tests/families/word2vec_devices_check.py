"""Run as a script under 2 forced CPU devices (see test_word2vec.py): the word2vec smoke
config with each sampler, two fused calls over a 2-device mesh against the same calls on
one device. Prints JSON results, by sampler."""

import json
import os
import sys

os.environ['XLA_FLAGS'] = (os.environ.get('XLA_FLAGS', '') +
                           ' --xla_force_host_platform_device_count=2').strip()
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

import jax  # noqa: E402
import numpy as np  # noqa: E402

from configs import word2vec as word2vec_config  # noqa: E402
from genjax.families import word2vec  # noqa: E402
from genjax.training import mesh as mesh_lib  # noqa: E402
from genjax.training.state import create_train_state  # noqa: E402
from genjax.training.step import make_train_step  # noqa: E402


def train(devices, sampler, calls=2):
  config = word2vec_config.get_config('smoke')
  config.unlock()
  config.data.sampler = sampler
  data = word2vec.data(config, 0, 1)
  family = word2vec.build(config, data.info)
  mesh = mesh_lib.make_mesh(devices)
  state = jax.device_put(create_train_state(
      family.training.init_params(jax.random.PRNGKey(0), None), None, jax.random.PRNGKey(1),
      ema=False), mesh_lib.replicated(mesh))
  frozen = jax.device_put(family.training.frozen, mesh_lib.replicated(mesh))
  step = make_train_step(family.training.update_fn, mesh)
  k = config.steps_per_call
  for call in range(calls):
    batches = mesh_lib.global_batch(data.train.stacked(call * k, k), mesh, batch_axis=1)
    state, metrics = step(state, batches, frozen)
  shards = len(jax.tree.leaves(batches)[0].addressable_shards)
  return jax.device_get(state.params), np.asarray(metrics['loss']).tolist(), shards


def compare(sampler):
  one, loss_one, _ = train(jax.devices()[:1], sampler)
  two, loss_two, shards = train(jax.devices(), sampler)
  return {'devices': jax.device_count(), 'shards': shards, 'loss_one': loss_one,
          'loss_two': loss_two,
          'bitwise_equal': all(np.array_equal(one[k], two[k]) for k in one),
          'moved': bool(np.abs(one['context']).max() > 0)}


def main():
  print(json.dumps({sampler: compare(sampler) for sampler in ('host', 'device')}))


if __name__ == '__main__':
  main()
