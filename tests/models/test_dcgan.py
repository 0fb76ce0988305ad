"""DCGAN's networks: shapes and sizes, BatchNorm that makes a sample independent of its batch
at sampling time, the statistics measured for averaged weights, and the conditional heads."""

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import pytest

from genjax.models import dcgan
from tests.numpy_init import numpy_variables

SHAPE = (28, 28, 1)


def _normal(seed, shape):
  return jnp.asarray(np.random.default_rng(seed).standard_normal(shape), jnp.float32)


def _apply(module, variables, *args, train=False):
  """module.apply, jitted (op-by-op dispatch of a whole network is slower to run)."""
  if train:
    return jax.jit(lambda v, *a: module.apply(v, *a, train=True, mutable=['batch_stats']))(
        variables, *args)
  return jax.jit(lambda v, *a: module.apply(v, *a, train=False))(variables, *args)


@pytest.fixture(scope='module')
def generator():
  g = dcgan.Generator(SHAPE, channels=8)
  variables = numpy_variables(g, jnp.zeros((1, 16)), train=False)
  # Running statistics away from their init, as after training.
  z = _normal(1, (64, 16))
  _, updated = _apply(g, variables, z, train=True)
  return g, {'params': variables['params'], 'batch_stats': updated['batch_stats']}


def test_shapes_ranges_and_the_papers_layer_sizes(generator):
  g, variables = generator
  z = _normal(2, (3, 16))
  x = _apply(g, variables, z)
  assert x.shape == (3,) + SHAPE and float(jnp.max(jnp.abs(x))) <= 1.0
  p = variables['params']
  c = 8
  assert p['Dense_0']['kernel'].shape == (16, 7 * 7 * 2 * c) and 'bias' not in p['Dense_0']
  assert p['ConvTranspose4x4Stride2_0']['kernel'].shape == (4, 4, 2 * c, c)
  assert 'bias' not in p['ConvTranspose4x4Stride2_0']  # BatchNorm follows it
  assert set(p['ConvTranspose4x4Stride2_1']) == {'kernel', 'bias'}  # the output layer
  d = dcgan.Discriminator(channels=c)
  dv = numpy_variables(d, x, train=False)
  assert _apply(d, dv, x).shape == (3,)
  dp = dv['params']
  assert dp['Conv_0']['kernel'].shape == (4, 4, 1, c) and 'BatchNorm_0' in dp
  assert dp['Dense_0']['kernel'].shape == (7 * 7 * 2 * c, 1)  # the logit: no hidden dense


def test_a_sample_does_not_depend_on_its_batch_at_sampling_time(generator):
  g, variables = generator
  z = _normal(4, (16, 16))
  alone = _apply(g, variables, z[:1])
  in_batch = _apply(g, variables, z)[:1]
  np.testing.assert_allclose(alone, in_batch, atol=1e-6)
  # In train mode BatchNorm normalises by the batch: the same latent gives another image.
  other_batch = jnp.concatenate([z[:1], 3.0 * z[1:]])
  a = _apply(g, variables, z, train=True)[0][0]
  b = _apply(g, variables, other_batch, train=True)[0][0]
  assert float(jnp.max(jnp.abs(a - b))) > 1e-2


def test_calibrate_measures_each_layers_batch_statistics(generator):
  g, variables = generator
  z = _normal(5, (256, 16))
  stats = jax.jit(lambda p, z: dcgan.calibrate(g, p, z))(variables['params'], z)
  h = z @ variables['params']['Dense_0']['kernel']
  h = h.reshape(256, 7, 7, 16)
  np.testing.assert_allclose(stats['BatchNorm_0']['mean'], h.mean((0, 1, 2)), atol=1e-5)
  np.testing.assert_allclose(stats['BatchNorm_0']['var'], h.var((0, 1, 2)), rtol=1e-4)
  # With measured statistics, eval mode reproduces that batch's train-mode output.
  measured = _apply(g, {'params': variables['params'], 'batch_stats': stats}, z)
  trained = _apply(g, variables, z, train=True)[0]
  np.testing.assert_allclose(measured, trained, atol=1e-4)


def test_conditional_heads_read_the_label():
  g = dcgan.Generator((8, 8, 1), channels=4, num_classes=3)
  d = dcgan.Discriminator(channels=4, num_classes=3)
  z = _normal(6, (2, 5))
  y = jnp.asarray([0, 0])
  gv = numpy_variables(g, z, y, train=False, scale=0.3)
  x0, x2 = _apply(g, gv, z, y), _apply(g, gv, z, y + 2)
  assert float(jnp.max(jnp.abs(x0 - x2))) > 0
  dv = numpy_variables(d, x0, y, train=False, scale=0.3)
  assert dv['params']['class_embed']['embedding'].shape == (3, 2 * 2 * 8)
  l0, l2 = _apply(d, dv, x0, y), _apply(d, dv, x0, y + 2)
  assert float(jnp.max(jnp.abs(l0 - l2))) > 0


def test_spectral_norm_replaces_the_discriminators_batch_norm():
  d = dcgan.Discriminator(channels=4, spectral_norm=True)
  x = jnp.asarray(np.random.default_rng(9).uniform(-1, 1, (4, 8, 8, 1)), jnp.float32)
  variables = numpy_variables(d, x, train=False)
  assert not any('BatchNorm' in k for k in variables['params'])
  # Power iteration in train mode: the normalised logit layer's largest singular value
  # tends to 1.
  step = jax.jit(lambda stats: d.apply({'params': variables['params'], 'batch_stats': stats},
                                       x, train=True, mutable=['batch_stats'])[1]['batch_stats'])
  stats = variables['batch_stats']
  for _ in range(30):
    stats = step(stats)
  kernel = np.asarray(variables['params']['Conv_1']['kernel']).reshape(-1, 8)
  sigma = np.asarray(stats['SpectralNorm_1']['Conv_1/kernel/sigma'])
  np.testing.assert_allclose(sigma, np.linalg.svd(kernel, compute_uv=False)[0], rtol=1e-3)


@pytest.mark.parametrize('side,layers', [(8, 2), (28, 2), (32, 3), (64, 4), (256, 6)])
def test_the_depth_halves_the_side_down_to_4_and_is_at_least_two(side, layers):
  assert dcgan.num_upsamplings(side) == layers


def _shapes(module, *args, **kwargs):
  """(output shape, {submodule: output shape}) of module on args, without computing."""
  variables = jax.eval_shape(lambda: module.init(jax.random.PRNGKey(0), *args, train=False))
  out, state = jax.eval_shape(lambda v: module.apply(
      v, *args, train=False, capture_intermediates=True, mutable=['intermediates']),
      variables)
  inner = {name: s['__call__'][0].shape for name, s in state['intermediates'].items()
           if name != '__call__'}
  return out.shape, inner, variables['params']


def test_the_64x64_networks_are_the_papers_figure_1_and_its_mirror():
  # Radford et al. (2016), Fig. 1: z (100) -> 4x4x1024 -> 8x8x512 -> 16x16x256 ->
  # 32x32x128 -> 64x64x3.
  g = dcgan.Generator((64, 64, 3), channels=128)
  out, inner, params = _shapes(g, jnp.zeros((2, 100)))
  assert out == (2, 64, 64, 3)
  assert params['Dense_0']['kernel'].shape == (100, 4 * 4 * 1024)
  assert inner['BatchNorm_0'] == (2, 4, 4, 1024)
  assert [inner[f'ConvTranspose4x4Stride2_{i}'] for i in range(4)] == [
      (2, 8, 8, 512), (2, 16, 16, 256), (2, 32, 32, 128), (2, 64, 64, 3)]
  d = dcgan.Discriminator(channels=128)
  out, inner, params = _shapes(d, jnp.zeros((2, 64, 64, 3)))
  assert out == (2,)
  assert [inner[f'Conv_{i}'] for i in range(4)] == [
      (2, 32, 32, 128), (2, 16, 16, 256), (2, 8, 8, 512), (2, 4, 4, 1024)]
  assert params['Dense_0']['kernel'].shape == (4 * 4 * 1024, 1)
  assert 'BatchNorm_2' in params and 'BatchNorm_3' not in params  # none after the first


def test_sides_the_depth_cannot_halve_are_refused_in_one_line():
  m = dict(conditional=False, latent_dim=100, channels=8, spectral_norm=False)
  with pytest.raises(dcgan.ConfigError, match='divisible by 4'):
    dcgan.DCGANNetworks(ml_collections.ConfigDict(m), (30, 30, 3), 0)


def test_uniform_latents_lie_in_the_cube():
  z = dcgan.draw_latents(jax.random.PRNGKey(0), (4096, 100), 'uniform')
  assert float(z.min()) >= -1.0 and float(z.max()) <= 1.0
  assert abs(float(z.mean())) < 0.01 and abs(float(z.var()) - 1 / 3) < 0.01
