"""Flow matching's path, target, time sampling and likelihood offsets, as math."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from genjax.objectives import flow_matching as fm


@pytest.mark.parametrize('sigma_min', [0.0, 0.1])
def test_the_target_is_the_time_derivative_of_the_interpolant(sigma_min):
  k0, k1, kt = jax.random.split(jax.random.PRNGKey(0), 3)
  x0, x1 = jax.random.normal(k0, (5, 3, 3, 1)), jax.random.normal(k1, (5, 3, 3, 1))
  t = jax.random.uniform(kt, (5,))
  path = lambda t: fm.interpolant(x0, x1, t, sigma_min)
  _, dx_dt = jax.jvp(path, (t,), (jnp.ones_like(t),))
  np.testing.assert_allclose(dx_dt, fm.velocity_target(x0, x1, sigma_min), rtol=1e-6,
                             atol=1e-6)
  # Noise at t = 0; at t = 1 the data, blurred by sigma_min of the noise.
  np.testing.assert_allclose(path(jnp.zeros(5)), x0)
  np.testing.assert_allclose(path(jnp.ones(5)), x1 + sigma_min * x0, rtol=1e-6, atol=1e-6)


def test_the_loss_is_zero_for_the_optimal_velocity_of_a_single_data_point():
  # One data point c and sigma_min = 0: every x_t lies on the segment from its noise to c,
  # and v(x, t) = (c - x) / (1 - t) is the target exactly.
  c = jnp.linspace(-1.0, 1.0, 16).reshape(1, 4, 4, 1)
  x1 = jnp.broadcast_to(c, (64, 4, 4, 1))
  optimal = lambda x, t: (c - x) / (1.0 - t)[:, None, None, None]
  for time_sampling in fm.TIME_SAMPLING:
    loss = fm.loss_terms(optimal, x1, jax.random.PRNGKey(1), time_sampling=time_sampling)
    assert loss.shape == (64,)
    np.testing.assert_allclose(loss, 0.0, atol=1e-8)
  # The untrained network's output, zero: the loss is E|x1 - x0|^2 per pixel, |c|^2 + 1.
  zero = fm.loss_terms(lambda x, t: jnp.zeros_like(x), x1, jax.random.PRNGKey(2))
  np.testing.assert_allclose(zero.mean(), float(jnp.mean(c ** 2)) + 1.0, rtol=0.05)


def test_time_sampling_uniform_and_logit_normal():
  key = jax.random.PRNGKey(3)
  t = np.asarray(fm.sample_time(key, 20000))
  assert t.min() >= 0 and t.max() < 1 and abs(t.mean() - 0.5) < 0.01
  t = np.asarray(fm.sample_time(key, 20000, 'logit_normal', logit_mean=0.5, logit_std=2.0))
  logits = np.log(t) - np.log1p(-t)
  assert abs(logits.mean() - 0.5) < 0.05 and abs(logits.std() - 2.0) < 0.05
  with pytest.raises(ValueError, match='time_sampling'):
    fm.sample_time(key, 4, 'beta')


def test_label_dropout_replaces_that_fraction_by_the_null_label():
  labels = jnp.arange(20000) % 10
  dropped = np.asarray(fm.drop_labels(jax.random.PRNGKey(4), labels, 10, 0.25))
  null = dropped == 10
  assert abs(null.mean() - 0.25) < 0.01
  np.testing.assert_array_equal(dropped[~null], np.asarray(labels)[~null])


def test_dequantisation_fills_each_bin_and_uniform_noise_is_eight_bits():
  k = jnp.arange(256, dtype=jnp.float32)
  x = 2.0 * k / 255.0 - 1.0  # to_model_space of k / 255
  for u in (0.0, 0.5, 1.0 - 1e-7):
    y = fm.dequantize(x, jnp.full_like(x, u))
    assert np.all(np.abs(y - x) <= 1 / 255 + 1e-7)
  # The bins tile [-1 - 1/255, 1 + 1/255]; the uniform density on it is 8 bits/dim.
  dims = 3
  log_p_uniform = -dims * math.log(2.0 + 2.0 / 255.0)
  nats = fm.nats_of_pixels(jnp.full((2,), log_p_uniform), dims)
  np.testing.assert_allclose(fm.bits_per_dim(nats, dims), 8.0, rtol=1e-6)


def test_reflows_coupled_noise_replaces_the_drawn_noise_and_straight_pairs_cost_nothing():
  x1 = jax.random.normal(jax.random.PRNGKey(3), (32, 4, 4, 1))
  rng = jax.random.PRNGKey(4)
  net = lambda x, t: 0.5 * x + t[:, None, None, None]
  # The noise the loss draws itself, given as the pair's x0: the same loss, term for term.
  _, noise_rng = jax.random.split(rng)
  drawn = jax.random.normal(noise_rng, x1.shape, x1.dtype)
  np.testing.assert_array_equal(fm.loss_terms(net, x1, rng),
                                fm.loss_terms(net, x1, rng, x0=drawn))
  # Pairs a constant shift apart lie on parallel straight lines: v(x, t) = shift fits every
  # point of every path, while with independent noise no velocity field fits them all.
  shift = jnp.linspace(-0.5, 0.5, 16).reshape(1, 4, 4, 1)
  x0 = jax.random.normal(jax.random.PRNGKey(5), x1.shape)
  constant = lambda x, t: jnp.broadcast_to(shift, x.shape)
  np.testing.assert_allclose(fm.loss_terms(constant, x0 + shift, rng, x0=x0), 0.0, atol=1e-10)
  assert fm.loss_terms(constant, x0 + shift, rng).mean() > 1.0
