"""The DDPM forward process: noise schedules, q(x_t|x_0) and the posterior q(x_{t-1}|x_t,x_0).

Time indexing. The paper's timesteps are t = 1..T. Arrays here are indexed by
i = t - 1 in 0..T-1, as in Ho et al.'s released code: `betas[i]` is beta_{i+1} and
`alphas_cumprod[i]` is abar_{i+1} = prod_{s<=i+1} alpha_s. `alphas_cumprod_prev[i]` is
abar_{i} with abar_0 = 1, so the posterior at i = 0 (paper t = 1) has variance 0 and mean x_0.

Closed forms (Ho et al., 2020, eqs. 4, 6, 7):
  q(x_t | x_{t-1}) = N(sqrt(alpha_t) x_{t-1}, beta_t I)
  q(x_t | x_0)     = N(sqrt(abar_t) x_0, (1 - abar_t) I)
  q(x_{t-1} | x_t, x_0) = N(c0_t x_0 + ct_t x_t, beta~_t I),
    c0_t = beta_t sqrt(abar_{t-1}) / (1 - abar_t),
    ct_t = (1 - abar_{t-1}) sqrt(alpha_t) / (1 - abar_t),
    beta~_t = beta_t (1 - abar_{t-1}) / (1 - abar_t).
The schedule is computed in float64 and stored in float32.
"""

from __future__ import annotations

import math

import flax.struct
import jax
import jax.numpy as jnp
import numpy as np

SCHEDULES = ('linear', 'cosine', 'scaled_linear')


@flax.struct.dataclass
class Schedule:
  """Per-timestep constants of the forward process, each [T] float32 (index i = t - 1)."""
  betas: jax.Array
  alphas: jax.Array
  alphas_cumprod: jax.Array
  alphas_cumprod_prev: jax.Array
  posterior_variance: jax.Array
  posterior_log_variance_clipped: jax.Array
  posterior_mean_coef_x0: jax.Array
  posterior_mean_coef_xt: jax.Array

  @property
  def num_timesteps(self) -> int:
    return self.betas.shape[0]


def linear_betas(num_timesteps: int = 1000, beta_start: float = 1e-4,
                 beta_end: float = 0.02, max_beta: float = 0.999) -> np.ndarray:
  """Ho et al. (2020): beta_t linear from 1e-4 to 0.02 over T = 1000 steps. Scaled by
  1000 / T for other T (so that abar_T ~ 0 still), capped at `max_beta` for very small T."""
  scale = 1000.0 / num_timesteps
  betas = np.linspace(scale * beta_start, scale * beta_end, num_timesteps, dtype=np.float64)
  return np.minimum(betas, max_beta)


def scaled_linear_betas(num_timesteps: int = 1000, beta_start: float = 0.0015,
                        beta_end: float = 0.0195, max_beta: float = 0.999) -> np.ndarray:
  """Rombach et al. (2022), latent diffusion: sqrt(beta_t) linear from sqrt(0.0015) to
  sqrt(0.0195) over T = 1000 steps (abar_T ~ 1.4e-4). Scaled by 1000 / T for other T, as
  `linear_betas`, capped at `max_beta`."""
  scale = 1000.0 / num_timesteps
  roots = np.linspace(math.sqrt(scale * beta_start), math.sqrt(scale * beta_end),
                      num_timesteps, dtype=np.float64)
  return np.minimum(roots**2, max_beta)


def cosine_betas(num_timesteps: int = 1000, s: float = 0.008,
                 max_beta: float = 0.999) -> np.ndarray:
  """Nichol & Dhariwal (2021), eq. 17: abar(t) = f(t)/f(0), f(t) = cos((t/T + s)/(1 + s) pi/2)^2,
  beta_t = min(1 - abar(t)/abar(t-1), 0.999)."""
  f = lambda t: math.cos((t / num_timesteps + s) / (1 + s) * math.pi / 2) ** 2
  return np.array([min(1 - f(t + 1) / f(t), max_beta) for t in range(num_timesteps)],
                  np.float64)


def from_betas(betas: np.ndarray) -> Schedule:
  betas = np.asarray(betas, np.float64)
  if betas.ndim != 1 or not np.all((betas > 0) & (betas < 1)):
    raise ValueError('betas must be a 1-D array with every entry in (0, 1).')
  alphas = 1.0 - betas
  abar = np.cumprod(alphas)
  abar_prev = np.append(1.0, abar[:-1])
  post_var = betas * (1.0 - abar_prev) / (1.0 - abar)
  # beta~_1 = 0; the log is clipped to beta~_2 there, as in Ho et al.'s code.
  post_logvar = np.log(np.append(post_var[1], post_var[1:])) if len(betas) > 1 else \
      np.log(betas)
  f32 = lambda a: jnp.asarray(a, jnp.float32)
  return Schedule(
      betas=f32(betas), alphas=f32(alphas), alphas_cumprod=f32(abar),
      alphas_cumprod_prev=f32(abar_prev), posterior_variance=f32(post_var),
      posterior_log_variance_clipped=f32(post_logvar),
      posterior_mean_coef_x0=f32(betas * np.sqrt(abar_prev) / (1.0 - abar)),
      posterior_mean_coef_xt=f32((1.0 - abar_prev) * np.sqrt(alphas) / (1.0 - abar)))


def make_schedule(name: str, num_timesteps: int = 1000, beta_start: float = 1e-4,
                  beta_end: float = 0.02) -> Schedule:
  if name == 'linear':
    return from_betas(linear_betas(num_timesteps, beta_start, beta_end))
  if name == 'cosine':
    return from_betas(cosine_betas(num_timesteps))
  if name == 'scaled_linear':
    return from_betas(scaled_linear_betas(num_timesteps, beta_start, beta_end))
  raise ValueError(f"Unknown noise schedule '{name}'; choose one of {SCHEDULES} with "
                   '--config.objective.schedule.')


def schedule_of(o) -> Schedule:
  """The schedule of a diffusion run's objective config (or saved signature['objective'])."""
  return make_schedule(o['schedule'], o['timesteps'], o['beta_start'], o['beta_end'])


def _at(values: jax.Array, t: jax.Array, x: jax.Array) -> jax.Array:
  """values[t] for t [B], shaped [B, 1, ..., 1] to broadcast against x [B, ...]."""
  v = jnp.take(values, jnp.asarray(t, jnp.int32))
  return v.reshape(v.shape + (1,) * (x.ndim - v.ndim))


def q_step(schedule: Schedule, x_prev: jax.Array, t: jax.Array, noise: jax.Array) -> jax.Array:
  """A draw from q(x_t | x_{t-1}) = N(sqrt(alpha_t) x_{t-1}, beta_t I)."""
  return (jnp.sqrt(_at(schedule.alphas, t, x_prev)) * x_prev
          + jnp.sqrt(_at(schedule.betas, t, x_prev)) * noise)


def q_mean_variance(schedule: Schedule, x0: jax.Array, t: jax.Array):
  """Mean and variance of q(x_t | x_0): sqrt(abar_t) x_0 and (1 - abar_t) (broadcastable)."""
  abar = _at(schedule.alphas_cumprod, t, x0)
  return jnp.sqrt(abar) * x0, 1.0 - abar


def q_sample(schedule: Schedule, x0: jax.Array, t: jax.Array, noise: jax.Array) -> jax.Array:
  """x_t = sqrt(abar_t) x_0 + sqrt(1 - abar_t) eps, the closed form of q(x_t | x_0)."""
  abar = _at(schedule.alphas_cumprod, t, x0)
  return jnp.sqrt(abar) * x0 + jnp.sqrt(1.0 - abar) * noise


def posterior_mean_variance(schedule: Schedule, x0: jax.Array, xt: jax.Array, t: jax.Array):
  """Mean, variance and clipped log-variance of q(x_{t-1} | x_t, x_0)."""
  mean = (_at(schedule.posterior_mean_coef_x0, t, xt) * x0
          + _at(schedule.posterior_mean_coef_xt, t, xt) * xt)
  return (mean, _at(schedule.posterior_variance, t, xt),
          _at(schedule.posterior_log_variance_clipped, t, xt))


def model_log_variance(schedule: Schedule, t: jax.Array, x: jax.Array,
                       kind: str = 'fixedlarge') -> jax.Array:
  """The fixed reverse-process variance sigma_t^2 of Ho et al., as a log, broadcastable.

  'fixedlarge': sigma_t^2 = beta_t (with beta~_2 at t = 1 so the decoder's scale is
  sensible, as in Ho et al.'s code); 'fixedsmall': sigma_t^2 = beta~_t (clipped at t = 1).
  """
  if kind == 'fixedsmall':
    return _at(schedule.posterior_log_variance_clipped, t, x)
  if kind == 'fixedlarge':
    logvar = jnp.log(schedule.betas).at[0].set(schedule.posterior_log_variance_clipped[0])
    return _at(logvar, t, x)
  raise ValueError(f"Unknown reverse variance '{kind}'; use 'fixedlarge' or 'fixedsmall'.")


def predict_x0_from_eps(schedule: Schedule, xt: jax.Array, t: jax.Array,
                        eps: jax.Array) -> jax.Array:
  abar = _at(schedule.alphas_cumprod, t, xt)
  return (xt - jnp.sqrt(1.0 - abar) * eps) / jnp.sqrt(abar)


def predict_eps_from_x0(schedule: Schedule, xt: jax.Array, t: jax.Array,
                        x0: jax.Array) -> jax.Array:
  abar = _at(schedule.alphas_cumprod, t, xt)
  return (xt - jnp.sqrt(abar) * x0) / jnp.sqrt(1.0 - abar)


def v_target(schedule: Schedule, x0: jax.Array, t: jax.Array, eps: jax.Array) -> jax.Array:
  """v = sqrt(abar_t) eps - sqrt(1 - abar_t) x_0 (Salimans & Ho, 2022)."""
  abar = _at(schedule.alphas_cumprod, t, x0)
  return jnp.sqrt(abar) * eps - jnp.sqrt(1.0 - abar) * x0


def eps_x0_from_prediction(schedule: Schedule, xt: jax.Array, t: jax.Array, pred: jax.Array,
                           prediction: str):
  """(eps, x0) implied by a network output under 'eps', 'x0' or 'v' parameterisation."""
  if prediction == 'eps':
    return pred, predict_x0_from_eps(schedule, xt, t, pred)
  if prediction == 'x0':
    return predict_eps_from_x0(schedule, xt, t, pred), pred
  if prediction == 'v':
    abar = _at(schedule.alphas_cumprod, t, xt)
    a, s = jnp.sqrt(abar), jnp.sqrt(1.0 - abar)
    return s * xt + a * pred, a * xt - s * pred
  raise ValueError(f"Unknown prediction '{prediction}'; use 'eps', 'x0' or 'v'.")
