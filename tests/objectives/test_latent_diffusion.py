"""Latent diffusion's bounds as math: DDPM's bound over continuous latents against the
true NLL of a model whose density is known in closed form, the scaling's Jacobian, and the
VAE pixel bound's assembly against the VAE's own ELBO."""

import math

import jax
import jax.numpy as jnp
import numpy as np
from scipy import stats

from genjax.diffusion import schedules as sch
from genjax.distributions import DiagGaussian, standard_normal_kl
from genjax.objectives import latent_diffusion as objectives


def _optimal_for_unit_gaussian(schedule):
  """For u ~ N(0, I), x_t ~ N(0, I) and E[eps | x_t] = sqrt(1 - abar_t) x_t: with it and
  sigma_t^2 = beta_t every reverse step is q's own, so p(u) = N(0, alpha_1 + sigma_1^2)
  exactly, sigma_1^2 being the fixedlarge variance at t = 1."""
  abar = schedule.alphas_cumprod
  return lambda x, t: jnp.sqrt(1.0 - abar[t])[:, None] * x


def test_the_latent_bound_is_above_the_models_true_nll_with_the_scalings_jacobian():
  schedule = sch.make_schedule('scaled_linear', 100, 0.0015, 0.0195)
  n, d, s = 4096, 3, 0.25
  u = jax.random.normal(jax.random.PRNGKey(0), (n, d))
  optimal = _optimal_for_unit_gaussian(schedule)
  sigma2 = math.exp(float(sch.model_log_variance(schedule, jnp.zeros((1,), jnp.int32),
                                                  u[:1])[0, 0]))
  std = math.sqrt(float(schedule.alphas[0]) + sigma2)  # p(u) = N(0, alpha_1 + sigma_1^2)
  true_nll = -stats.norm.logpdf(np.asarray(u), scale=std).sum(-1)
  z = u / s

  @jax.jit
  def bounds(u, z):
    key = jax.random.PRNGKey(1)
    return (objectives.gaussian_vb_bound(optimal, schedule, u, key),
            objectives.gaussian_vb_bound(lambda x, t: jnp.zeros_like(x), schedule, u, key),
            objectives.latent_nll_bound(optimal, schedule, z, jnp.float32(s), key),
            objectives.gaussian_vb_bound(optimal, schedule, u, jax.random.PRNGKey(2), 8))

  bound, bad, latent, estimate = map(np.asarray, bounds(u, z))
  # The gap is KL(q(x_1:T | u) || p(x_1:T | u)): every step but the last is q's own, and
  # the last has q's mean with variance sigma_1^2 where q's is beta_1, so by hand it is
  # d KL(N(0, beta_1) || N(0, sigma_1^2)) on average over u.
  ratio = float(schedule.betas[0]) / sigma2
  expected_gap = d * 0.5 * (ratio - 1.0 - math.log(ratio))
  gap = bound - true_nll
  se = gap.std() / math.sqrt(n)
  assert expected_gap > 0.1 and abs(gap.mean() - expected_gap) < 4 * se, (gap.mean(), se)
  # A denoiser that predicts no noise is a worse model of the same data: a looser bound.
  assert bad.mean() > true_nll.mean() + 1.0
  # The latents z = u / s: their density is the model's of s z times s^d.
  np.testing.assert_allclose(latent, bound - d * math.log(s), rtol=1e-5, atol=1e-4)
  true_z = -stats.norm.logpdf(np.asarray(z), scale=std / s).sum(-1)
  np.testing.assert_allclose(np.mean(latent - true_z), gap.mean(), atol=1e-3)
  assert abs(np.mean(latent - true_z) - expected_gap) < 4 * se
  # The unbiased estimate from 8 of the 100 terms agrees with the exact sum.
  assert abs(estimate.mean() - bound.mean()) < 4 * estimate.std() / math.sqrt(n)


def test_the_pixel_bound_with_a_standard_normal_prior_is_the_vaes_negative_elbo():
  """E_q[-log N(z; 0, I)] - H[q] = KL(q || N(0, I)): the bound's latent terms are the
  ELBO's KL when the diffusion prior is replaced by the VAE's own."""
  q = DiagGaussian(jnp.array([[0.5, -1.0, 2.0]]), jnp.array([[-0.3, 0.2, -1.5]]))
  z = q.sample(jax.random.PRNGKey(0), 200000)[:, 0]
  cross_entropy = 0.5 * jnp.sum(z**2 + math.log(2 * math.pi), -1)
  terms = objectives.pixel_bound_terms(jnp.full((len(z),), 7.0), cross_entropy,
                                       jnp.broadcast_to(q.log_scale, z.shape), num_dims=4)
  expected = 7.0 + float(standard_normal_kl(q)[0])
  se = float(jnp.std(terms['bound_nats'])) / math.sqrt(len(z))
  assert abs(float(jnp.mean(terms['bound_nats'])) - expected) < 4 * se
  np.testing.assert_allclose(terms['bpd'], terms['bound_nats'] / (4 * math.log(2)), rtol=1e-6)
