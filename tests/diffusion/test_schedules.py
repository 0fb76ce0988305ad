"""The forward process tested as math: closed forms against the chain and Bayes' rule."""

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import stats

from genjax.diffusion import schedules as sch

# The pixel DDPM's schedules, checked against their papers' constants below; latent
# diffusion's scaled_linear has its own test.
DDPM_SCHEDULES = ('linear', 'cosine')


@pytest.mark.parametrize('name', DDPM_SCHEDULES)
def test_schedule_constants(name):
  s = sch.make_schedule(name, 1000)
  chex.assert_shape([s.betas, s.alphas_cumprod, s.posterior_variance], (1000,))
  b = np.asarray(s.betas, np.float64)
  assert np.all((b > 0) & (b < 1))
  np.testing.assert_allclose(s.alphas_cumprod, np.cumprod(1 - b), rtol=1e-5, atol=1e-7)
  assert np.all(np.diff(np.asarray(s.alphas_cumprod)) < 0)
  assert float(s.alphas_cumprod[-1]) < 1e-4  # x_T is (almost) pure noise
  assert float(s.posterior_variance[0]) == 0.0
  if name == 'linear':  # Ho et al. (2020)
    np.testing.assert_allclose([b[0], b[-1]], [1e-4, 0.02], rtol=1e-6)
  else:  # Nichol & Dhariwal (2021) eq. 17, checked at t = 500 directly
    f = lambda t: np.cos((t / 1000 + 0.008) / 1.008 * np.pi / 2) ** 2
    np.testing.assert_allclose(s.alphas_cumprod[499], f(500) / f(0), rtol=1e-4)



def test_scaled_linear_is_rombachs_latent_schedule():
  """Rombach et al. (2022): sqrt(beta) linear in t from sqrt(0.0015) to sqrt(0.0195), T = 1000."""
  s = sch.make_schedule('scaled_linear', 1000, 0.0015, 0.0195)
  b = np.asarray(s.betas, np.float64)
  np.testing.assert_allclose([b[0], b[-1]], [0.0015, 0.0195], rtol=1e-6)
  np.testing.assert_allclose(np.diff(np.sqrt(b)), (np.sqrt(0.0195) - np.sqrt(0.0015)) / 999,
                             rtol=1e-4)
  assert np.all(np.diff(b) > 0) and np.all(np.diff(np.diff(b)) > 0)  # convex in t
  np.testing.assert_allclose(s.alphas_cumprod, np.cumprod(1 - b), rtol=1e-5, atol=1e-7)
  assert 1e-4 < float(s.alphas_cumprod[-1]) < 2e-4  # a trace of x_0 is left at T
  short = np.asarray(sch.make_schedule('scaled_linear', 100, 0.0015, 0.0195).betas)
  np.testing.assert_allclose(short[[0, -1]], [0.015, 0.195], rtol=1e-5)  # x 1000 / T


@pytest.mark.slow
@pytest.mark.parametrize('name', DDPM_SCHEDULES)
def test_closed_form_matches_the_chain(name):
  """Iterating q(x_t|x_{t-1}) from x_0 matches N(sqrt(abar_t) x_0, (1 - abar_t) I) at every t.

  Tolerances come from the sample size n: the sample mean has standard error
  sqrt(var / n), the sample variance var * sqrt(2 / (n - 1)); z is set so that all
  2 * T * D checks together fail by chance with probability < 1e-3.
  """
  T, n = 1000, 20000
  s = sch.make_schedule(name, T)
  x0 = jnp.array([-1.0, -0.3, 0.5, 1.0])
  d = x0.shape[0]

  def step(x, inputs):
    t, key = inputs
    x = sch.q_step(s, x, jnp.full((n,), t), jax.random.normal(key, x.shape))
    return x, (x.mean(0), x.var(0, ddof=1))

  x_init = jnp.broadcast_to(x0, (n, d))
  _, (means, variances) = jax.jit(lambda: jax.lax.scan(
      step, x_init, (jnp.arange(T), jax.random.split(jax.random.PRNGKey(0), T))))()
  ts = jnp.arange(T)
  mean, var = jax.vmap(lambda t: sch.q_mean_variance(s, x0[None], t[None]))(ts)
  mean, var = mean[:, 0], jnp.broadcast_to(var[:, 0], mean.shape[:1] + (d,))
  chex.assert_equal_shape([means, mean, variances, var])
  z = stats.norm.isf(1e-3 / (2 * 2 * T * d))
  np.testing.assert_array_less(np.abs(means - mean), z * np.sqrt(var / n))
  np.testing.assert_array_less(np.abs(variances - var), z * var * np.sqrt(2 / (n - 1)) + 1e-6)


def test_q_sample_is_the_closed_form():
  s = sch.make_schedule('linear', 100)
  x0 = jax.random.normal(jax.random.PRNGKey(1), (3, 4, 4, 1))
  noise = jax.random.normal(jax.random.PRNGKey(2), x0.shape)
  t = jnp.array([0, 50, 99])
  xt = sch.q_sample(s, x0, t, noise)
  abar = np.asarray(s.alphas_cumprod)[np.asarray(t)][:, None, None, None]
  np.testing.assert_allclose(xt, np.sqrt(abar) * x0 + np.sqrt(1 - abar) * noise, rtol=1e-5,
                             atol=1e-6)


@pytest.mark.parametrize('name', DDPM_SCHEDULES)
@pytest.mark.parametrize('t', [1, 10, 250, 999])
def test_posterior_is_bayes_rule_in_1d(name, t):
  """q(x_{t-1}|x_t,x_0) ∝ q(x_{t-1}|x_0) q(x_t|x_{t-1}), integrated on a fine grid."""
  s = sch.make_schedule(name, 1000)
  x0, xt = 0.7, -0.4
  betas = sch.linear_betas(1000) if name == 'linear' else sch.cosine_betas(1000)
  abar_prev, beta = np.prod(1 - betas[:t]), betas[t]  # float64, as the schedule is built
  grid = np.linspace(-8, 8, 400001)
  log_prior = stats.norm.logpdf(grid, np.sqrt(abar_prev) * x0, np.sqrt(1 - abar_prev))
  log_lik = stats.norm.logpdf(xt, np.sqrt(1 - beta) * grid, np.sqrt(beta))
  w = np.exp(log_prior + log_lik - np.max(log_prior + log_lik))
  w /= w.sum()
  mean_num = np.sum(w * grid)
  var_num = np.sum(w * (grid - mean_num) ** 2)
  mean, var, logvar = sch.posterior_mean_variance(s, jnp.array([x0]), jnp.array([xt]),
                                                  jnp.array([t]))
  np.testing.assert_allclose(mean[0], mean_num, rtol=1e-4, atol=1e-5)
  np.testing.assert_allclose(var[0], var_num, rtol=1e-3)
  np.testing.assert_allclose(np.exp(logvar[0]), var_num, rtol=1e-3)


def test_posterior_at_the_first_step_is_x0():
  s = sch.make_schedule('linear', 1000)
  mean, var, _ = sch.posterior_mean_variance(s, jnp.array([0.3]), jnp.array([-2.0]),
                                             jnp.array([0]))
  np.testing.assert_allclose(mean, [0.3], rtol=1e-5)
  assert float(var[0]) == 0.0


@pytest.mark.parametrize('prediction', ['eps', 'x0', 'v'])
def test_parameterisations_invert(prediction):
  s = sch.make_schedule('cosine', 1000)
  x0 = jax.random.normal(jax.random.PRNGKey(3), (4, 5))
  eps = jax.random.normal(jax.random.PRNGKey(4), (4, 5))
  t = jnp.array([0, 10, 500, 990])
  xt = sch.q_sample(s, x0, t, eps)
  pred = {'eps': eps, 'x0': x0, 'v': sch.v_target(s, x0, t, eps)}[prediction]
  e, x = sch.eps_x0_from_prediction(s, xt, t, pred, prediction)
  np.testing.assert_allclose(e, eps, atol=2e-3)
  np.testing.assert_allclose(x, x0, atol=2e-3)
