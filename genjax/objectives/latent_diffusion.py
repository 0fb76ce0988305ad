"""Latent diffusion's bounds (Rombach et al., 2022): DDPM's over continuous latents, and a
VAE first stage's bound on -log p(x) in pixel bits/dim.

The diffusion model sees u = s z, the first stage's latents z times the scale factor s.
Its variational bound on -log p(u) is Ho et al.'s (2020, eq. 5),

  L(u) = KL(q(x_T|u) || N(0, I)) + sum_{t=2}^T KL(q(x_{t-1}|x_t,u) || p(x_{t-1}|x_t))
         - log p(u | x_1),

with one change: u is continuous, so the last term is the Gaussian density
N(u; mu(x_1, 1), sigma_1^2) of the reverse process's own step at t = 1, not the pixel
DDPM's discretized decoder (whose 256 bins only exist for 8-bit pixels). The density of z
is that of u = s z times |du/dz| = s^d, so -log p(z) <= L(s z) - d log s.

With a VAE's q(z|x) as the first stage,

  -log p(x) <= E_q[-log p(x|z)] + E_q[-log p(z)] - H[q(z|x)]
            <= E_q[-log p(x|z)] + E_q[L(s z) - d log s] - H[q(z|x)],

the VAE's ELBO with its N(0, I) prior's cross-entropy replaced by the diffusion prior's
bound; each expectation is estimated from one sample z ~ q, unbiased. A VQ-VAE's encoder
is deterministic (q(z|x) is a point mass, H = -inf), so no such bound exists for it.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp

from genjax.diffusion import schedules as sch
from genjax.objectives.diffusion import DenoiseFn, normal_kl, prior_kl

_LOG_2PI = math.log(2.0 * math.pi)


def _sum_dims(x: jax.Array) -> jax.Array:
  return x.reshape(x.shape[0], -1).sum(-1)


def gaussian_vb_term(denoise: DenoiseFn, schedule: sch.Schedule, u: jax.Array, t: jax.Array,
                     rng: jax.Array, prediction: str = 'eps',
                     variance: str = 'fixedlarge') -> jax.Array:
  """Per-example L_{t-1} [B] for t [B] in 0..T-1 (index i = t - 1), nats: at index 0 the
  Gaussian decoder's -log N(u; mu(x_1, 1), sigma_1^2), elsewhere
  KL(q(x_{t-1}|x_t,u) || p(x_{t-1}|x_t))."""
  xt = sch.q_sample(schedule, u, t, jax.random.normal(rng, u.shape, u.dtype))
  _, u_hat = sch.eps_x0_from_prediction(schedule, xt, t, denoise(xt, t), prediction)
  model_mean, _, _ = sch.posterior_mean_variance(schedule, u_hat, xt, t)
  model_logvar = sch.model_log_variance(schedule, t, xt, variance) * jnp.ones_like(u)
  true_mean, _, true_logvar = sch.posterior_mean_variance(schedule, u, xt, t)
  kl = _sum_dims(normal_kl(true_mean, true_logvar * jnp.ones_like(u), model_mean,
                           model_logvar))
  decoder_nll = _sum_dims(0.5 * (_LOG_2PI + model_logvar
                                 + (u - model_mean) ** 2 * jnp.exp(-model_logvar)))
  return jnp.where(t == 0, decoder_nll, kl)


def gaussian_vb_bound(denoise: DenoiseFn, schedule: sch.Schedule, u: jax.Array,
                      rng: jax.Array, num_timesteps: int = 0, prediction: str = 'eps',
                      variance: str = 'fixedlarge') -> jax.Array:
  """L(u) [B] in nats, the bound on -log p(u) of continuous u.

  num_timesteps = 0: every t exactly (T network calls under lax.scan). k > 0: an unbiased
  estimate from k calls, as `genjax.objectives.diffusion.vb_bound` makes it: the k // 2
  smallest t (the largest terms) summed exactly, the other T - k // 2 estimated from
  k - k // 2 of them drawn uniformly, a fresh draw per example.
  """
  T, b = schedule.num_timesteps, u.shape[0]
  term = lambda t, key: gaussian_vb_term(denoise, schedule, u, t, key, prediction, variance)

  def exact_sum(ts, key):
    one = lambda total, inputs: (total + term(jnp.full((b,), inputs[0]), inputs[1]), None)
    return jax.lax.scan(one, jnp.zeros((b,)), (ts, jax.random.split(key, len(ts))))[0]

  if not num_timesteps or num_timesteps >= T:
    return prior_kl(schedule, u) + exact_sum(jnp.arange(T), rng)
  exact, sampled = num_timesteps // 2, num_timesteps - num_timesteps // 2
  exact_rng, rng = jax.random.split(rng)

  def one(total, key):
    t_key, n_key = jax.random.split(key)
    return total + term(jax.random.randint(t_key, (b,), exact, T), n_key), None

  tail, _ = jax.lax.scan(one, jnp.zeros((b,)), jax.random.split(rng, sampled))
  total = prior_kl(schedule, u) + tail * ((T - exact) / sampled)
  if exact:
    total = total + exact_sum(jnp.arange(exact), exact_rng)
  return total


def latent_nll_bound(denoise: DenoiseFn, schedule: sch.Schedule, z: jax.Array,
                     scale: jax.Array, rng: jax.Array, num_timesteps: int = 0,
                     prediction: str = 'eps', variance: str = 'fixedlarge') -> jax.Array:
  """The bound on -log p(z) [B] nats of unscaled latents z: L(s z) - d log s, the log of
  the scaling's Jacobian s^d taken out."""
  d = math.prod(z.shape[1:])
  return (gaussian_vb_bound(denoise, schedule, scale * z, rng, num_timesteps, prediction,
                            variance) - d * jnp.log(scale))


def gaussian_entropy(log_scale: jax.Array) -> jax.Array:
  """H[N(mean, diag(exp(log_scale))^2)] [B] in nats."""
  return _sum_dims(log_scale + 0.5 * (_LOG_2PI + 1.0))


def pixel_bound_terms(recon_nll: jax.Array, latent_nll: jax.Array, log_scale: jax.Array,
                      num_dims: int) -> dict[str, jax.Array]:
  """A VAE first stage's per-image terms [B] and the bound on -log p(x):
  E_q[-log p(x|z)] + E_q[-log p(z)] - H[q(z|x)], in nats and bits per pixel dimension,
  from -log p(x|z) and the prior's bound on -log p(z) at one z ~ q."""
  entropy = gaussian_entropy(log_scale)
  nats = recon_nll + latent_nll - entropy
  return {'recon_nll': recon_nll, 'latent_nll': latent_nll, 'posterior_entropy': entropy,
          'bound_nats': nats, 'bpd': nats / (num_dims * math.log(2.0))}
