"""The U-Net's shapes at 28x28, 8x8 and CIFAR-10's 32x32x3 (Ho et al.'s parameter count),
its time and class inputs, and dropout."""

import math

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from configs import diffusion as diffusion_config
from genjax.models.unet import UNet, make_model, timestep_embedding


def test_timestep_embedding():
  e = timestep_embedding(jnp.array([0, 5, 999]), 16)
  chex.assert_shape(e, (3, 16))
  np.testing.assert_allclose(e[0], np.r_[np.zeros(8), np.ones(8)], atol=1e-7)
  assert not np.allclose(e[1], e[2])


def test_fashion_mnist_size_28_goes_through_7x7_attention():
  net = UNet(channels=8, channel_mults=(1, 2, 2), num_res_blocks=1, attn_resolutions=(7,),
             dropout=0.0, norm_groups=4)
  x = jnp.ones((1, 28, 28, 1))
  shapes = jax.eval_shape(net.init, jax.random.PRNGKey(0), x, jnp.array([5]))
  assert 'AttnBlock_0' in shapes['params']
  out = jax.eval_shape(lambda p: net.apply(p, x, jnp.array([5])), shapes)
  assert out.shape == x.shape


def test_the_cifar10_variant_is_ho_et_als_35_7m_parameter_unet():
  """Ho et al. (2020, Appendix B; `unet2d16b2` in their run_cifar.py): 35.7M parameters.
  Shapes only (eval_shape): nothing is allocated or computed."""
  net = make_model(diffusion_config.get_config('cifar10').model, num_classes=10)
  x, t = jnp.zeros((1, 32, 32, 3)), jnp.zeros((1,), jnp.int32)
  shapes = jax.eval_shape(net.init, jax.random.PRNGKey(0), x, t)
  count = sum(math.prod(s.shape) for s in jax.tree.leaves(shapes))
  assert abs(count - 35.7e6) < 0.01 * 35.7e6, count
  assert 'Embed_0' not in shapes['params']  # unconditional, as Ho et al.'s
  assert jax.eval_shape(lambda p: net.apply(p, x, t), shapes).shape == x.shape


def random_params(net, *args):
  """Parameters of the right shapes, drawn in NumPy: flax's jitted init compiles slowly on
  a busy CPU, and the zero-initialised output convs would hide every dependence."""
  shapes = jax.eval_shape(net.init, jax.random.PRNGKey(0), *args)
  rng = np.random.default_rng(0)
  return jax.tree.map(lambda s: jnp.asarray(0.2 * rng.standard_normal(s.shape), s.dtype),
                      shapes)


@pytest.mark.slow
def test_outputs_depend_on_image_time_class_and_dropout():
  net = UNet(channels=8, channel_mults=(1, 2), num_res_blocks=1, attn_resolutions=(4,),
             dropout=0.1, norm_groups=4, num_classes=10)
  x = jax.random.normal(jax.random.PRNGKey(0), (1, 8, 8, 1))
  params = random_params(net, x, jnp.array([3]), jnp.array([1]))
  # one batch: the base case, then other t, the "no label" class, another image
  xs = jnp.concatenate([x, x, x, -x])
  ts, ys = jnp.array([3, 900, 3, 3]), jnp.array([1, 1, 10, 1])

  @jax.jit
  def run(params, key):
    return (net.apply(params, xs, ts, ys), net.apply(params, x, ts[:1]),
            net.apply(params, xs, ts, ys, train=True, rngs={'dropout': key}))

  out, unlabelled, dropped = run(params, jax.random.PRNGKey(2))
  chex.assert_shape(out, xs.shape)
  chex.assert_tree_all_finite(out)
  for i in (1, 2, 3):
    assert not np.allclose(out[0], out[i], atol=1e-4), i
  np.testing.assert_allclose(unlabelled[0], out[2], rtol=1e-4, atol=1e-5)  # y=None: no label
  assert not np.allclose(out, dropped, atol=1e-4)
