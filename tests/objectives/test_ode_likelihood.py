"""The probability-flow ODE's log-likelihood against closed forms: a linear flow between
Gaussians in both directions of time and with both divergences, the Hutchinson-Skilling
estimate's mean, the identity flow, and uniform 8-bit noise at 8 bits/dim."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.scipy.stats import multivariate_normal, norm

from genjax.objectives import ode_likelihood as ode

# x_1 = A z + mu for z ~ N(0, I): data N(mu, A A^T) at t = 1, noise at t = 0 (flow matching's
# times). A is triangular with a positive diagonal, so M_t = (1 - t) I + t A stays invertible.
A = jnp.array([[1.5, 0.6, -0.4], [0.0, 0.7, 0.5], [0.0, 0.0, 1.2]])
MU = jnp.array([0.5, -1.0, 2.0])


def linear_velocity(x, t):
  """The velocity of x_t = M_t z + t mu, M_t = (1 - t) I + t A: (A - I) z + mu."""
  m = (1.0 - t) * jnp.eye(3) + t * A
  z = jax.scipy.linalg.solve_triangular(m, (x - t * MU).T).T
  return z @ (A - jnp.eye(3)).T + MU


def gaussian_data(n, seed=0):
  z = jax.random.normal(jax.random.PRNGKey(seed), (n, 3))
  x = z @ A.T + MU
  return x, multivariate_normal.logpdf(x, MU, A @ A.T)


@pytest.mark.parametrize('direction', ['data at 1', 'data at 0'])
def test_linear_flow_between_gaussians_gives_the_closed_form(direction):
  x, closed_form = gaussian_data(256)
  if direction == 'data at 1':  # flow matching: integrated from t = 1 down to 0
    velocity, t_data, t_noise = linear_velocity, 1.0, 0.0
  else:  # the diffusion ODE's direction: the same flow with time reversed
    velocity, t_data, t_noise = (lambda x, t: -linear_velocity(x, 1.0 - t)), 0.0, 1.0
  solve = lambda divergence: ode.log_likelihood(
      velocity, x, jax.random.PRNGKey(1), t_data=t_data, t_noise=t_noise,
      divergence=divergence, rtol=1e-6, atol=1e-6)
  exact, nfe = solve('exact')
  np.testing.assert_allclose(exact, closed_form, atol=2e-3)
  assert nfe > 6
  # Hutchinson's: per example it is off by sum_{i != j} eps_i eps_j int J_ij dt (J is not
  # diagonal), an error of mean zero.
  estimate, _ = solve('hutchinson')
  error = np.asarray(estimate - closed_form, np.float64)
  se = error.std(ddof=1) / math.sqrt(len(error))
  assert error.std() > 0.05  # the probes matter here
  assert abs(error.mean()) < 4 * se, (error.mean(), se)


def test_hutchinson_is_unbiased_for_the_jacobian_trace():
  d, n = 50, 4000
  keys = jax.random.split(jax.random.PRNGKey(0), 4)
  w = jax.random.normal(keys[0], (d, d)) / math.sqrt(d)
  b = jax.random.normal(keys[1], (d,))
  f = lambda y, t: jnp.tanh(y @ w.T + b) * (1.0 + t)
  x = jax.random.normal(keys[2], (d,))
  xs = jnp.broadcast_to(x, (n, d))
  eps = jax.random.rademacher(keys[3], (n, d), jnp.float32)
  # The exact divergence for examples of any shape: here [5, 10] each.
  images = lambda y, t: f(y.reshape(-1, d), t).reshape(y.shape)

  @jax.jit
  def divergences():
    trace = jnp.trace(jax.jacfwd(lambda y: f(y, 0.5))(x))
    v, estimates = ode.hutchinson_divergence(f, xs, 0.5, eps)
    return trace, v, estimates, ode.exact_divergence(images, xs[:3].reshape(3, 5, 10), 0.5)[1]

  trace, v, estimates, exact = divergences()
  np.testing.assert_allclose(v, f(xs, 0.5), rtol=1e-5)
  se = float(estimates.std(ddof=1)) / math.sqrt(n)
  assert se > 0 and abs(float(estimates.mean()) - float(trace)) < 4 * se
  np.testing.assert_allclose(exact, jnp.full((3,), trace), rtol=1e-5)


def test_standard_normal_data_under_the_identity_flow_gets_the_analytic_rate():
  calls = []

  def identity(x, t):  # v = 0, counting its evaluations
    jax.debug.callback(lambda: calls.append(1))
    return jnp.zeros_like(x)

  x = jax.random.normal(jax.random.PRNGKey(0), (4000, 2, 2))
  log_p, nfe = ode.log_likelihood(identity, x, jax.random.PRNGKey(1), t_data=0.0,
                                  t_noise=1.0)
  jax.effects_barrier()
  assert int(nfe) == len(calls) > 6  # the count it reports is the velocity's own
  np.testing.assert_allclose(log_p, norm.logpdf(x).sum((1, 2)), rtol=1e-6)
  bits = np.asarray(ode.bits_per_dim(log_p, 4), np.float64)
  mean, se = ode.mean_and_standard_error(bits)
  entropy_bits = 0.5 * math.log2(2 * math.pi * math.e)  # of N(0, 1), per dimension
  assert abs(mean - entropy_bits) < 4 * se and se < 0.02


def test_uniform_8bit_noise_gets_8_bits_per_dim():
  """The flow from N(0, 1) to U[-1, 1] in each dimension is exact for uniform 8-bit pixels
  dequantised onto [-1, 1], whose discrete rate is 8 bits: the ODE, the dequantisation
  and the offset together must give 8.00."""
  def quantile(p, t):  # Q_t(p) = (1 - t) Phi^-1(p) + t (2p - 1): noise at 0, U[-1, 1] at 1
    return (1.0 - t) * norm.ppf(p) + t * (2.0 * p - 1.0)

  def velocity(x, t):
    def bisect(_, bounds):
      lo, hi = bounds
      mid = 0.5 * (lo + hi)
      below = quantile(mid, t) < x
      return jnp.where(below, mid, lo), jnp.where(below, hi, mid)
    lo, hi = jax.lax.fori_loop(0, 40, bisect, (jnp.zeros_like(x), jnp.ones_like(x)))
    p0 = jax.lax.stop_gradient(0.5 * (lo + hi))
    # One Newton step from the root: the same value, and dp/dx = 1 / Q_t'(p).
    slope = (1.0 - t) / norm.pdf(norm.ppf(p0)) + 2.0 * t
    p = p0 + (x - jax.lax.stop_gradient(quantile(p0, t))) / slope
    return (2.0 * p - 1.0) - norm.ppf(p)  # dQ_t(p)/dt at the p that x sits on

  k = jax.random.randint(jax.random.PRNGKey(0), (64, 2, 2, 1), 0, 256)
  x = ode.dequantize(k / 255.0, jax.random.PRNGKey(1))
  assert float(x.min()) > -1 and float(x.max()) < 1
  log_p, _ = ode.log_likelihood(velocity, x, jax.random.PRNGKey(2), t_data=1.0, t_noise=0.0,
                                divergence='exact', rtol=1e-6, atol=1e-6)
  bits = np.asarray(ode.bits_per_dim(log_p, 4, ode.dequantization_offset()))
  assert abs(bits.mean() - 8.0) < 2e-3
  # Per image to float32's resolution of Phi^-1 near the edges of [-1, 1].
  np.testing.assert_allclose(bits, 8.0, atol=0.02)
  # On [0, 1] the offset is ln 256 nats, 8 bits; on [-1, 1] ln 128, Song et al.'s +7.
  assert ode.dequantization_offset(0.0, 1.0) / math.log(2) == pytest.approx(8.0)
  assert ode.dequantization_offset() / math.log(2) == pytest.approx(7.0)


def test_dequantization_keeps_each_pixel_in_its_bin():
  k = jnp.arange(256.0).reshape(1, 256)
  x = ode.dequantize(k / 255.0, jax.random.PRNGKey(0))
  bins = np.floor((np.asarray(x) + 1.0) / 2.0 * 256.0)
  np.testing.assert_array_equal(bins, np.asarray(k))


def test_bad_options_are_refused():
  v = lambda x, t: x
  with pytest.raises(ValueError, match='divergence'):
    ode.log_likelihood(v, jnp.zeros((1, 2)), jax.random.PRNGKey(0), t_data=0.0, t_noise=1.0,
                       divergence='trace')
  with pytest.raises(ValueError, match='solver'):
    ode.log_likelihood(v, jnp.zeros((1, 2)), jax.random.PRNGKey(0), t_data=0.0, t_noise=1.0,
                       solver='euler')
