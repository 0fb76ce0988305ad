"""DDPM's probability-flow ODE: the VP SDE its schedule discretises, the velocity of the
optimal network for Gaussian data under each prediction, and the exact likelihood it
gives such data."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.scipy.stats import norm

from genjax.diffusion import schedules as sch
from genjax.errors import UserError
from genjax.objectives import ode_likelihood as ode
from genjax.objectives import probability_flow as pf

LINEAR = dict(schedule='linear', timesteps=1000, beta_start=1e-4, beta_end=0.02)


def test_the_vp_sde_is_the_continuous_form_of_the_linear_schedule():
  sde = pf.vp_sde_of(LINEAR)
  assert (sde.beta_min, sde.beta_max) == pytest.approx((0.1, 20.0))
  t = jnp.arange(1000) / 999.0
  schedule = sch.schedule_of(LINEAR)
  # T beta_i = beta(i / (T - 1)), and label i sits at t = i / (T - 1).
  np.testing.assert_allclose(1000 * schedule.betas, sde.beta(t), rtol=1e-5)
  np.testing.assert_allclose(sde.label(t), np.arange(1000), atol=1e-3)
  # The marginals agree with the chain's up to its discretisation.
  np.testing.assert_allclose(sde.alpha(t), jnp.sqrt(schedule.alphas_cumprod), atol=2e-3)
  np.testing.assert_allclose(sde.alpha(t) ** 2 + sde.sigma(t) ** 2, 1.0, atol=1e-6)
  with pytest.raises(UserError, match='schedule=linear'):
    pf.vp_sde_of({**LINEAR, 'schedule': 'cosine'})


def optimal_network(sde, s, prediction):
  """The exact prediction for data N(0, s^2 I): x_t ~ N(0, alpha^2 s^2 + sigma^2), so
  E[eps | x_t] = sigma x_t / var_t and E[x_0 | x_t] = alpha s^2 x_t / var_t."""
  def network(x, labels):
    t = (labels / (sde.num_timesteps - 1)).reshape((-1,) + (1,) * (x.ndim - 1))
    alpha, sigma = sde.alpha(t), sde.sigma(t)
    var = alpha ** 2 * s ** 2 + sigma ** 2
    eps, x0 = sigma * x / var, alpha * s ** 2 * x / var
    return {'eps': eps, 'x0': x0, 'v': alpha * eps - sigma * x0}[prediction]
  return network


def test_each_prediction_gives_the_same_velocity_and_standard_normal_data_stays_put():
  sde = pf.vp_sde_of(LINEAR)
  x = jax.random.normal(jax.random.PRNGKey(0), (5, 2, 2, 1))
  for t in (0.01, 0.3, 0.9):
    by_prediction = [pf.velocity(optimal_network(sde, 0.5, p), sde, p)(x, t)
                     for p in pf.PREDICTIONS]
    for v in by_prediction[1:]:
      np.testing.assert_allclose(v, by_prediction[0], rtol=1e-4, atol=1e-5)
    # Data that is itself N(0, I): the score is -x at every t, and the flow stands still.
    still = pf.velocity(optimal_network(sde, 1.0, 'eps'), sde, 'eps')(x, t)
    np.testing.assert_allclose(still, 0.0, atol=1e-5)


def test_the_ode_gives_gaussian_data_its_exact_log_density():
  """For data N(0, s^2 I) the ODE carries p_{t_data} = N(0, alpha^2 s^2 + sigma^2) onto
  N(0, I) (up to alpha(1)^2 ~ 4e-5), so log p is that Gaussian's, example by example."""
  sde, s = pf.vp_sde_of(LINEAR), 0.5
  x = s * jax.random.normal(jax.random.PRNGKey(0), (64, 2, 2, 1))
  velocity = pf.velocity(optimal_network(sde, s, 'eps'), sde, 'eps')
  log_p, nfe = ode.log_likelihood(velocity, x, jax.random.PRNGKey(1), t_data=pf.T_DATA,
                                  t_noise=pf.T_NOISE, divergence='exact')
  std = jnp.sqrt(sde.alpha(pf.T_DATA) ** 2 * s ** 2 + sde.sigma(pf.T_DATA) ** 2)
  np.testing.assert_allclose(log_p, norm.logpdf(x, scale=std).sum((1, 2, 3)), atol=2e-3)
  assert nfe > 6
