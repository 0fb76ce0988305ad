"""The probability-flow ODE of a DDPM-trained network (Song et al., 2021, Sec. 4.3, App. D).

DDPM's discrete chain with T steps of the linear schedule is the discretisation of the VP
SDE dx = -1/2 beta(t) x dt + sqrt(beta(t)) dw on t in [0, 1], with beta(t) = beta_min +
t (beta_max - beta_min): Ho et al.'s betas (`genjax.diffusion.schedules.linear_betas`,
(1000 / T) linspace(beta_start, beta_end)) are beta_i = beta(i / (T - 1)) / T, so
beta_min = 1000 beta_start and beta_max = 1000 beta_end (0.1 and 20 for 1e-4..0.02), as in
Song et al.'s score_sde. Its marginals are x_t = alpha(t) x_0 + sigma(t) eps with

  log alpha(t) = -1/4 t^2 (beta_max - beta_min) - 1/2 t beta_min,  sigma(t)^2 = 1 - alpha(t)^2,

and every SDE of this kind has an ODE with the same marginals (Song et al., eq. 13):

  dx/dt = -1/2 beta(t) [x + score(x, t)].

score_sde's convention for reading a DDPM-trained network in continuous time, which their
likelihoods use: the network gets t (T - 1) as its timestep label (index i at t = i/(T-1),
a real number between the integers it was trained on) and score = -eps_hat / sigma(t),
with sigma(t) the SDE's own, continuous in t, so that the adaptive solver sees a smooth
field. An x0- or v-predicting network's output gives eps_hat through the same alpha and
sigma (x_t = alpha x0 + sigma eps, v = alpha eps - sigma x0).

The cosine schedule (Nichol & Dhariwal, 2021) is no discretisation of this SDE; its runs
are refused. At very small T the discrete betas are capped below 1
(`schedules.linear_betas`); the SDE is the one the uncapped schedule discretises.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable, Mapping

import jax
import jax.numpy as jnp

from genjax.errors import UserError

# (x [B, ...], timestep labels [B] float, 0..T-1) -> network output [B, ...]
Network = Callable[[jax.Array, jax.Array], jax.Array]
PREDICTIONS = ('eps', 'x0', 'v')
# Where Song et al. start the ODE: at t = 0 sigma(t) = 0 and the score is undefined.
T_DATA = 1e-5
T_NOISE = 1.0


@dataclasses.dataclass(frozen=True)
class VPSDE:
  """The variance-preserving SDE of a linear beta schedule on t in [0, 1]."""
  beta_min: float
  beta_max: float
  num_timesteps: int  # T of the discrete chain: the network's labels are 0..T-1

  def beta(self, t):
    return self.beta_min + t * (self.beta_max - self.beta_min)

  def log_alpha(self, t):
    return -0.25 * t ** 2 * (self.beta_max - self.beta_min) - 0.5 * t * self.beta_min

  def alpha(self, t):
    return jnp.exp(self.log_alpha(t))

  def sigma(self, t):
    return jnp.sqrt(-jnp.expm1(2.0 * self.log_alpha(t)))

  def label(self, t):
    """The network's timestep label at time t: t (T - 1)."""
    return t * (self.num_timesteps - 1)


def vp_sde_of(objective: Mapping[str, Any]) -> VPSDE:
  """The VP SDE of a diffusion run's objective config (or its saved signature's)."""
  if objective['schedule'] != 'linear':
    raise UserError(f"The run's {objective['schedule']!r} schedule discretises no VP SDE "
                    'with linear beta(t); the probability-flow ODE needs a run of '
                    '--config.objective.schedule=linear.')
  return VPSDE(beta_min=1000.0 * objective['beta_start'],
               beta_max=1000.0 * objective['beta_end'],
               num_timesteps=int(objective['timesteps']))


def eps_from_prediction(sde: VPSDE, x: jax.Array, t, prediction: str,
                        output: jax.Array) -> jax.Array:
  """The noise eps_hat that a network's output implies at (x_t, t)."""
  alpha, sigma = sde.alpha(t), sde.sigma(t)
  if prediction == 'eps':
    return output
  if prediction == 'x0':
    return (x - alpha * output) / sigma
  if prediction == 'v':  # eps = sigma x_t + alpha v, as alpha^2 + sigma^2 = 1
    return sigma * x + alpha * output
  raise ValueError(f"Unknown prediction '{prediction}'; use one of {PREDICTIONS}.")


def velocity(network: Network, sde: VPSDE, prediction: str = 'eps'):
  """The probability-flow velocity (x [B, ...], t) -> dx/dt of a DDPM-trained network, for
  `genjax.objectives.ode_likelihood.log_likelihood` (data at T_DATA, noise at T_NOISE)."""
  if prediction not in PREDICTIONS:
    raise ValueError(f"Unknown prediction '{prediction}'; use one of {PREDICTIONS}.")

  def dx_dt(x, t):
    labels = jnp.full((x.shape[0],), sde.label(t), jnp.float32)
    eps = eps_from_prediction(sde, x, t, prediction, network(x, labels))
    score = -eps / sde.sigma(t)
    return -0.5 * sde.beta(t) * (x + score)

  return dx_dt
