"""Glow's layers as math: exact inverses, log-determinants against slogdet of the Jacobian,
ActNorm's data-dependent init, a 2-D flow's density integrating to 1, and 8.00 bits/dim
for the identity flow on a uniform base."""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from genjax.models import glow_layers as gl
from genjax.models.glow import gaussian_log_prob
from genjax.objectives import glow as glow_objectives
from tests.numpy_init import numpy_variables

LAYERS = {'actnorm': gl.ActNorm(), 'invconv': gl.InvConv1x1(),
          'coupling': gl.AffineCoupling(hidden=8), 'step': gl.GlowStep(hidden=8),
          'coupling_tanh': gl.AffineCoupling(hidden=8, scale='tanh'),
          'step_tanh': gl.GlowStep(hidden=8, scale='tanh'),
          'step_additive': gl.GlowStep(hidden=8, coupling='additive')}


def _random(layer, shape, seed=0):
  x = jnp.asarray(np.random.default_rng(seed).normal(size=shape), jnp.float32)
  return numpy_variables(layer, x, seed=seed, scale=0.3), x


@pytest.mark.parametrize('name', sorted(LAYERS))
def test_every_layer_inverts_exactly_and_its_log_determinants_cancel(name):
  layer = LAYERS[name]
  params, x = _random(layer, (3, 4, 4, 6))
  y, forward = jax.jit(layer.apply)(params, x)
  back, inverse = jax.jit(functools.partial(layer.apply, reverse=True))(params, y)
  np.testing.assert_allclose(back, x, atol=1e-5)
  np.testing.assert_allclose(forward + inverse, 0.0, atol=1e-5)
  assert np.abs(np.asarray(forward)).max() > 1e-3  # random params: not volume-preserving


@pytest.mark.parametrize('name', sorted(LAYERS))
def test_each_log_determinant_is_slogdet_of_the_jacobian(name):
  layer = LAYERS[name]
  params, x = _random(layer, (1, 2, 2, 4), seed=1)  # D = 16
  flat = lambda v: layer.apply(params, v.reshape(x.shape))[0].reshape(-1)
  jacobian = jax.jit(jax.jacfwd(flat))(x.reshape(-1))
  sign, logabs = jnp.linalg.slogdet(jacobian)
  assert sign != 0
  np.testing.assert_allclose(jax.jit(layer.apply)(params, x)[1][0], logabs, rtol=1e-4,
                             atol=1e-4)


def test_squeeze_is_a_permutation_that_unsqueeze_undoes():
  x = jnp.arange(2 * 4 * 6 * 3, dtype=jnp.float32).reshape(2, 4, 6, 3)
  s = gl.squeeze(x)
  assert s.shape == (2, 2, 3, 12)
  np.testing.assert_array_equal(np.sort(np.asarray(s).ravel()), np.asarray(x).ravel())
  np.testing.assert_array_equal(gl.unsqueeze(s), x)
  np.testing.assert_array_equal(s[0, 0, 0, :3], x[0, 0, 0])  # the block's top-left pixel


def test_actnorm_initialised_on_a_batch_gives_it_zero_mean_and_unit_variance():
  rng = np.random.default_rng(2)
  x = jnp.asarray(rng.normal(3.0, [0.5, 2.0, 7.0], size=(64, 5, 5, 3)), jnp.float32)
  params = gl.ActNorm().init(jax.random.PRNGKey(0), x)
  y, _ = gl.ActNorm().apply(params, x)
  np.testing.assert_allclose(np.mean(y, axis=(0, 1, 2)), 0.0, atol=1e-5)
  np.testing.assert_allclose(np.var(y, axis=(0, 1, 2)), 1.0, rtol=1e-4)


def test_a_two_dimensional_flows_density_integrates_to_one():
  steps = [gl.GlowStep(hidden=8), gl.GlowStep(hidden=8)]
  params = [numpy_variables(s, jnp.zeros((1, 1, 1, 2)), seed=i, scale=0.4)
            for i, s in enumerate(steps)]
  n, half = 500, 9.0
  axis = np.linspace(-half, half, n, dtype=np.float32)
  grid = np.stack(np.meshgrid(axis, axis), -1).reshape(-1, 1, 1, 2)

  @jax.jit
  def log_density(x):
    total = jnp.zeros(x.shape[:1])
    for step, p in zip(steps, params):
      x, logdet = step.apply(p, x)
      total = total + logdet
    return gaussian_log_prob(x, jnp.zeros(()), jnp.zeros(())) + total  # N(0, I) base

  mass = float(np.sum(np.exp(log_density(jnp.asarray(grid)))) * (axis[1] - axis[0]) ** 2)
  assert abs(mass - 1.0) < 2e-3, mass


def test_the_identity_flow_on_a_uniform_base_is_exactly_eight_bits_per_dim():
  rng = np.random.default_rng(3)
  x = jnp.asarray(rng.integers(0, 256, (5, 28, 28, 1)), jnp.uint8)
  x = x.at[0].set(255)  # the top bin
  # u below 1 - 1e-6: (255 + u) / 256 must not round up to 1.0 in float32.
  u = jnp.asarray(rng.uniform(0, 1 - 1e-6, x.shape), jnp.float32)
  y = glow_objectives.dequantize(x, u)
  bits = glow_objectives.bits_per_dim(glow_objectives.uniform_log_prob(y), 28 * 28)
  np.testing.assert_allclose(bits, 8.0, rtol=0, atol=1e-6)


def test_couplings_start_at_their_bounds_fixed_point_and_stay_inside_the_bound():
  """Zero-initialised: a tanh coupling is the identity, a sigmoid one scales by
  sigmoid(2); at any pre-activation the log-scale stays in (-1, 1) or (-inf, 0)."""
  x = jnp.asarray(np.random.default_rng(3).normal(size=(2, 3, 3, 4)), jnp.float32)
  for scale, factor in (('tanh', 1.0), ('sigmoid', 1 / (1 + np.exp(-2.0)))):
    layer = gl.AffineCoupling(hidden=8, scale=scale)
    y, logdet = layer.apply(layer.init(jax.random.PRNGKey(0), x), x)
    np.testing.assert_allclose(y[..., :2], x[..., :2])
    np.testing.assert_allclose(y[..., 2:], x[..., 2:] * factor, rtol=1e-6)
    np.testing.assert_allclose(logdet, 18 * np.log(factor), atol=1e-5)
  raw = jnp.linspace(-50.0, 50.0, 101)
  assert np.all(np.abs(gl.coupling_log_scale(raw, 'tanh')) <= 1)
  assert np.all(np.asarray(gl.coupling_log_scale(raw, 'sigmoid')) <= 0)
  assert np.all(np.isfinite(gl.coupling_log_scale(raw, 'sigmoid')))
  with pytest.raises(ValueError, match='sigmoid'):
    gl.coupling_log_scale(raw, 'exp')


def test_an_additive_coupling_shifts_half_the_channels_and_preserves_volume():
  layer = gl.AdditiveCoupling(hidden=8)
  params, x = _random(layer, (3, 4, 4, 6), seed=4)
  y, forward = jax.jit(layer.apply)(params, x)
  back, inverse = jax.jit(functools.partial(layer.apply, reverse=True))(params, y)
  np.testing.assert_array_equal(y[..., :3], x[..., :3])
  assert np.abs(np.asarray(y[..., 3:] - x[..., 3:])).max() > 1e-3
  np.testing.assert_allclose(back, x, atol=1e-5)
  np.testing.assert_array_equal(forward, 0.0)
  np.testing.assert_array_equal(inverse, 0.0)
  with pytest.raises(ValueError, match='additive'):
    gl.make_coupling('spline', 8, 'tanh')
