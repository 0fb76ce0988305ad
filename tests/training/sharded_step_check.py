"""Run as a script under 8 forced CPU devices (see test_sharding.py): one train step over
an 8-device mesh against the same step on one device. Prints JSON results."""

import json
import os
import sys

# Compiled as the tests compile everything (tests/conftest.py): the same numbers, sooner.
os.environ['XLA_FLAGS'] = ('--xla_force_host_platform_device_count=8 '
                           '--xla_backend_optimization_level=0 --xla_cpu_use_fusion_emitters=false')
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402

from configs import vae  # noqa: E402
from genjax import data as data_lib  # noqa: E402
from genjax.families import vae as vae_family  # noqa: E402
from genjax.training import mesh as mesh_lib  # noqa: E402
from genjax.data.family_data import DataInfo  # noqa: E402
from genjax.training.optimizers import make_optimizer  # noqa: E402
from genjax.training.state import create_train_state  # noqa: E402
from genjax.training.step import make_train_step  # noqa: E402
from genjax.training.update import gradient_update  # noqa: E402


def one_step(devices):
  config = vae.get_config('smoke')
  arrays = data_lib.load_image_dataset('digits', 'train')
  test = data_lib.load_image_dataset('digits', 'test')
  family = vae_family.build(config, DataInfo(num_train=len(arrays.images), num_classes=10,
                                                example_shape=(8, 8, 1), test_images=test))
  stream = data_lib.TrainStream(arrays, global_batch_size=32, seed=0, binarize='dynamic')
  optimizer = make_optimizer(config.optimizer)
  mesh = mesh_lib.make_mesh(devices)
  state = create_train_state(family.training.init_params(jax.random.PRNGKey(0),
                                                         stream.batch(0)),
                             optimizer, jax.random.PRNGKey(1), ema=False)
  state = jax.device_put(state, mesh_lib.replicated(mesh))
  step = make_train_step(gradient_update(family.training.loss_fn, optimizer), mesh)
  batch = mesh_lib.global_batch(stream.stacked(0, 1), mesh, batch_axis=1)
  shards = len(batch['image'].addressable_shards)
  state, metrics = step(state, batch)
  return jax.device_get(state.params), float(metrics['loss'][0]), shards


def batchnorm_step(devices):
  """One step of the toy BatchNorm family; returns its new model state (the statistics)."""
  from tests.training.toys import batchnorm, common  # pylint: disable=g-import-not-at-top
  config = common.config(batchnorm.FAMILY)
  data = batchnorm.FAMILY.data(config, 0, 1)
  family = batchnorm.FAMILY.build(config, data.info)
  training = family.training
  optimizer = training.make_optimizer()
  rng, example = jax.random.PRNGKey(0), data.train.batch(0)
  params = training.init_params(rng, example)
  mesh = mesh_lib.make_mesh(devices)
  state = jax.device_put(create_train_state(
      params, optimizer, rng, ema=False,
      model_state=training.init_model_state(rng, example, params)), mesh_lib.replicated(mesh))
  step = make_train_step(gradient_update(training.loss_fn, optimizer), mesh)
  state, _ = step(state, mesh_lib.global_batch(data.train.stacked(0, 1), mesh, batch_axis=1))
  return jax.device_get(state.model_state)


def em_steps(devices, steps=3):
  """Three full-batch EM steps (blocks of 200 rows) on the digits' top 10 principal axes,
  the points sharded over `devices`; returns the params and the last log-likelihood."""
  import functools  # pylint: disable=g-import-not-at-top
  from genjax.models import pca  # pylint: disable=g-import-not-at-top
  from genjax.objectives import gmm as em  # pylint: disable=g-import-not-at-top
  images = data_lib.load_image_dataset('digits', 'train').images[:1496]
  flat = images.reshape(len(images), -1).astype(np.float32) / 255.0
  x = pca.encode(pca.fit(flat, 10), flat)
  resp = em.initial_responsibilities(jax.random.PRNGKey(0), x, num_components=5,
                                     init='kmeans')
  params, _ = em.params_from_responsibilities(x, resp, reg_covar=1e-6,
                                              covariance_type='full')
  mesh = mesh_lib.make_mesh(devices)
  params = jax.device_put(params, mesh_lib.replicated(mesh))
  xs = jax.device_put(np.asarray(x), mesh_lib.batch_sharding(mesh, 0))
  step = jax.jit(functools.partial(em.em_step, reg_covar=1e-6, covariance_type='full',
                                   block_rows=200), out_shardings=mesh_lib.replicated(mesh))
  for _ in range(steps):
    params, log_likelihood, _ = step(params, xs)
  return jax.device_get(params), float(log_likelihood), len(xs.addressable_shards)


def vq_ema_step(devices):
  """One EMA codebook step on encoder outputs sharded over `devices`: its counts and sums
  must be the whole batch's (summed across devices), not one shard's."""
  from genjax.models import quantizer  # pylint: disable=g-import-not-at-top
  rng = np.random.default_rng(0)
  z = rng.normal(size=(64, 2, 2, 3)).astype(np.float32)
  mesh = mesh_lib.make_mesh(devices)
  state = jax.device_put(quantizer.ema_init(jnp.asarray(z[:16, 0, 0])),
                         mesh_lib.replicated(mesh))
  zs = jax.device_put(z, mesh_lib.batch_sharding(mesh, 0))
  step = jax.jit(lambda s, z: quantizer.ema_update(s, z, quantizer.nearest_codes(
      z, s.codebook), 0.9), out_shardings=mesh_lib.replicated(mesh))
  return jax.device_get(step(state, zs)), len(zs.addressable_shards)


def _max_diff(a, b):
  return max(float(np.max(np.abs(x - y))) for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b)))


def main():
  assert len(jax.devices()) == 8, jax.devices()
  p8, loss8, shards8 = one_step(jax.devices())
  p1, loss1, _ = one_step(jax.devices()[:1])
  diffs = [_max_diff(p8, p1)]
  stats8, stats1 = batchnorm_step(jax.devices()), batchnorm_step(jax.devices()[:1])
  (em8, ll8, em_shards), (em1, ll1, _) = em_steps(jax.devices()), em_steps(jax.devices()[:1])
  (vq8, vq_shards), (vq1, _) = vq_ema_step(jax.devices()), vq_ema_step(jax.devices()[:1])
  try:
    mesh_lib.check_divides(12, mesh_lib.make_mesh())
    divide_error = ''
  except ValueError as e:
    divide_error = str(e)
  print(json.dumps({'loss8': loss8, 'loss1': loss1, 'max_param_diff': max(diffs),
                    'max_batch_stats_diff': _max_diff(stats8, stats1),
                    'shards8': shards8, 'divide_error': divide_error,
                    'em_shards8': em_shards, 'em_log_likelihood8': ll8,
                    'em_log_likelihood1': ll1, 'em_max_param_diff': _max_diff(em8, em1),
                    'vq_shards8': vq_shards, 'vq_counts8': float(np.sum(vq8.counts)),
                    'vq_max_diff': _max_diff(vq8, vq1)}))


if __name__ == '__main__':
  main()
