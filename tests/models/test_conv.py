"""Every formulation of genjax.models.conv.Conv is XLA's convolution, values and gradients,
and the layer is flax's nn.Conv (parameters, names, padding rules)."""

from __future__ import annotations

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from genjax.models import conv

# (H, W, C_in, C_out, kernel, stride, padding): the library's conv shapes, small.
CASES = [
    (7, 7, 3, 5, (3, 3), (1, 1), 'SAME'),
    (8, 6, 2, 4, (3, 3), (2, 2), 'SAME'),       # the U-Net's strided downsampling, even
    (7, 7, 2, 4, (3, 3), (2, 2), 'SAME'),       # and odd (14 -> 7 at full size)
    (8, 8, 1, 3, (4, 4), (2, 2), 'SAME'),       # VQ-VAE's encoder
    (8, 8, 3, 2, (4, 4), (2, 2), ((1, 1), (1, 1))),  # DCGAN's discriminator
    (5, 6, 4, 3, (1, 1), (1, 1), 'SAME'),
    (6, 5, 2, 3, (3, 2), (1, 2), 'VALID'),      # rectangular kernel, uneven strides
    (5, 5, 2, 2, (3, 3), (1, 1), ((2, 0), (0, 1))),  # uneven explicit padding
]


def _inputs(case, seed=0):
  h, w, c_in, c_out, k, _, _ = case
  rng = np.random.default_rng(seed)
  x = jnp.asarray(rng.standard_normal((2, h, w, c_in)), jnp.float32)
  kernel = jnp.asarray(rng.standard_normal(tuple(k) + (c_in, c_out)), jnp.float32)
  return x, kernel


def _reference(x, kernel, strides, padding):
  return jax.lax.conv_general_dilated(x, kernel, strides, padding,
                                      dimension_numbers=('NHWC', 'HWIO', 'NHWC'))


@pytest.mark.slow
@pytest.mark.parametrize('case', CASES, ids=str)
@pytest.mark.parametrize('fn', [conv.conv_xla, conv.conv_taps], ids=['xla', 'taps'])
def test_formulation_equals_lax_conv_values_and_gradients(case, fn):
  x, kernel = _inputs(case)
  strides, padding = case[5], case[6]
  pads = conv.explicit_padding(padding, x.shape[1:3], kernel.shape[:2], strides)
  np.testing.assert_allclose(fn(x, kernel, strides, pads),
                             _reference(x, kernel, strides, padding), rtol=1e-5, atol=1e-5)
  # Gradients of a non-linear function of the output, against input and kernel.
  cotangent = jnp.asarray(np.random.default_rng(1).standard_normal(
      _reference(x, kernel, strides, padding).shape), jnp.float32)
  ours = jax.grad(lambda a, b: jnp.sum(jnp.tanh(fn(a, b, strides, pads)) * cotangent),
                  argnums=(0, 1))(x, kernel)
  ref = jax.grad(lambda a, b: jnp.sum(
      jnp.tanh(_reference(a, b, strides, padding)) * cotangent), argnums=(0, 1))(x, kernel)
  for got, want in zip(ours, ref):
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize('formulation', ['auto', 'xla', 'taps'])
def test_layer_is_flax_conv_with_its_params(formulation):
  x, _ = _inputs(CASES[1])
  ours = conv.Conv(4, (3, 3), strides=(2, 2), formulation=formulation)
  theirs = nn.Conv(4, (3, 3), strides=(2, 2))
  params = theirs.init(jax.random.PRNGKey(0), x)
  # Same initialisation and parameter tree, so either loads the other's checkpoints.
  ours_params = ours.init(jax.random.PRNGKey(0), x)
  jax.tree.map(np.testing.assert_array_equal, ours_params, params)
  np.testing.assert_allclose(ours.apply(params, x), theirs.apply(params, x),
                             rtol=1e-5, atol=1e-5)


def test_auto_names_match_flax_conv():
  """A model that swaps nn.Conv for Conv keeps 'Conv_0', 'Conv_1', ... as names."""

  class Two(nn.Module):
    layer: type

    @nn.compact
    def __call__(self, x):
      return self.layer(3, (3, 3))(self.layer(2, (1, 1))(x))

  x = jnp.ones((1, 4, 4, 1))
  ours = Two(conv.Conv).init(jax.random.PRNGKey(0), x)['params']
  theirs = Two(nn.Conv).init(jax.random.PRNGKey(0), x)['params']
  assert sorted(ours) == sorted(theirs) == ['Conv_0', 'Conv_1']


def test_no_bias_and_bfloat16_inputs():
  x, _ = _inputs(CASES[0])
  layer = conv.Conv(5, (3, 3), use_bias=False, formulation='taps')
  params = layer.init(jax.random.PRNGKey(0), x)
  assert set(params['params']) == {'kernel'}
  y16 = layer.apply(params, x.astype(jnp.bfloat16))
  assert y16.dtype == jnp.bfloat16  # computes in the input's dtype; params stay float32
  assert params['params']['kernel'].dtype == jnp.float32
  np.testing.assert_allclose(np.asarray(y16, np.float32), layer.apply(params, x),
                             rtol=0.05, atol=0.1)


def test_auto_rule_and_refusal():
  assert conv.choose('auto', (3, 3, 64, 64), (1, 1), backend='gpu') == 'xla'
  assert conv.choose('auto', (3, 3, 64, 64), (2, 2), backend='tpu') == 'xla'
  # On CPU, as measured: strided convolutions of >= 32 channels as taps, the rest XLA's.
  assert conv.choose('auto', (3, 3, 32, 32), (2, 2), backend='cpu') == 'taps'
  assert conv.choose('auto', (4, 4, 64, 128), (2, 2), backend='cpu') == 'taps'
  assert conv.choose('auto', (3, 3, 64, 64), (1, 1), backend='cpu') == 'xla'
  assert conv.choose('auto', (4, 4, 1, 64), (2, 2), backend='cpu') == 'xla'
  assert conv.choose('auto', (1, 1, 64, 64), (1, 1), backend='cpu') == 'xla'
  assert conv.choose('taps', (3, 3, 1, 1), (1, 1), backend='gpu') == 'taps'
  with pytest.raises(ValueError, match="one of"):
    conv.choose('im2col', (3, 3, 1, 1), (1, 1))


@pytest.mark.parametrize('kernel,strides,padding', [
    ((3, 3), (2, 2), 'SAME'),   # the VAE's and autoencoder's conv decoders
    ((4, 4), (2, 2), 'SAME'),
    ((3, 3), (1, 1), 'SAME'),
    ((3, 2), (2, 1), 'VALID'),
])
@pytest.mark.parametrize('formulation', ['xla', 'taps'])
def test_conv_transpose_is_flax_conv_transpose(kernel, strides, padding, formulation):
  x = jnp.asarray(np.random.default_rng(2).standard_normal((2, 5, 4, 3)), jnp.float32)
  theirs = nn.ConvTranspose(4, kernel, strides=strides, padding=padding)
  ours = conv.ConvTranspose(4, kernel, strides=strides, padding=padding,
                            formulation=formulation)
  params = theirs.init(jax.random.PRNGKey(0), x)
  jax.tree.map(np.testing.assert_array_equal, ours.init(jax.random.PRNGKey(0), x), params)
  np.testing.assert_allclose(ours.apply(params, x), theirs.apply(params, x),
                             rtol=1e-5, atol=1e-5)
  loss = lambda layer: lambda p, a: jnp.sum(jnp.sin(layer.apply(p, a)))
  for got, want in zip(jax.grad(loss(ours), argnums=(0, 1))(params, x),
                       jax.grad(loss(theirs), argnums=(0, 1))(params, x)):
    jax.tree.map(lambda g, w: np.testing.assert_allclose(g, w, rtol=1e-4, atol=1e-4),
                 got, want)


@pytest.mark.parametrize('layer', [conv.Conv(3, (3, 3), strides=(2, 2)),
                                   conv.ConvTranspose(3, (3, 3), strides=(2, 2))])
def test_leading_batch_axes_as_flax(layer):
  x = jnp.asarray(np.random.default_rng(3).standard_normal((2, 3, 4, 4, 2)), jnp.float32)
  params = layer.init(jax.random.PRNGKey(0), x)
  y = layer.apply(params, x)
  flat = layer.apply(params, x.reshape(6, 4, 4, 2))
  np.testing.assert_allclose(y, flat.reshape(y.shape), rtol=1e-6, atol=1e-6)
  assert y.shape[:2] == (2, 3)
