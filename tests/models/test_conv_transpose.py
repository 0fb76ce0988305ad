"""The phase-convolution transposed convolution is flax's nn.ConvTranspose(4x4, stride 2):
the same params, the same initial values, the same outputs and gradients."""

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from genjax.models.conv_transpose import ConvTranspose4x4Stride2


def test_equals_flax_conv_transpose_with_the_same_params_and_init():
  x = jax.random.normal(jax.random.PRNGKey(0), (2, 3, 5, 4))
  ours, flax_layer = ConvTranspose4x4Stride2(6), nn.ConvTranspose(6, (4, 4), strides=(2, 2))
  params = flax_layer.init(jax.random.PRNGKey(1), x)
  params['params']['bias'] = jnp.arange(6.0)  # a nonzero bias is added once per output
  jax.tree.map(np.testing.assert_array_equal, ours.init(jax.random.PRNGKey(1), x),
               flax_layer.init(jax.random.PRNGKey(1), x))
  out = ours.apply(params, x)
  assert out.shape == (2, 6, 10, 6)
  np.testing.assert_allclose(out, flax_layer.apply(params, x), atol=1e-5)
  loss = lambda layer: lambda p, x: jnp.sum(jnp.sin(layer.apply(p, x)))
  for a, b in zip(jax.tree.leaves(jax.grad(loss(ours), (0, 1))(params, x)),
                  jax.tree.leaves(jax.grad(loss(flax_layer), (0, 1))(params, x))):
    np.testing.assert_allclose(a, b, atol=1e-4)
