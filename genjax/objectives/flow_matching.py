"""Flow matching on the straight (optimal-transport) path, as pure functions.

Lipman et al. (2023, Sec. 4.1) regress a velocity field v(x, t) onto the conditional
velocity of a path from noise to data. With t = 0 noise x0 ~ N(0, I) and t = 1 data x1:

    x_t = t x1 + (1 - (1 - sigma_min) t) x0,      u = dx_t/dt = x1 - (1 - sigma_min) x0,

and the loss is E_{t, x0, x1} ||v(x_t, t) - u||^2 (the mean over pixels here, as the
DDPM loss is). sigma_min = 0 is rectified flow (Liu et al., 2023): x_t = t x1 + (1 - t) x0,
u = x1 - x0. The time t is uniform on [0, 1), or logit-normal, t = sigmoid(m + s n),
n ~ N(0, 1) (Esser et al., 2024, Sec. 3.1), which puts more of the training on the middle
of the path, where Esser et al. find the prediction hardest.

Time enters the network as `TIME_SCALE * t` (Liu et al.'s released code feeds 999 t), so a
U-Net whose sinusoidal embedding was laid out for integer timesteps 0..999 sees the same
range of phases.

Likelihood of 8-bit images. The model space is diffusion's, x = 2k/255 - 1
(`genjax.objectives.diffusion.to_model_space`), pixel k's bin [x - 1/255, x + 1/255].
`dequantize` spreads each pixel uniformly over its bin, y = x + (2u - 1)/255, so
E_u[-log p(y)] + D ln(255/2) bounds -log P(k) (Theis et al., 2016): the Glow family's
convention (there bins of 1/256, offset D ln 256) on these bins, and the bins of
diffusion's discretized decoder, so the two families' bits/dim compare. (Song et al.'s
(2021) "+7 bits", `genjax.objectives.ode_likelihood.dequantize`, takes the bins
(k + u)/128 - 1 instead, which put the training points 0 and 255 at a bin's edge.)
"""

from __future__ import annotations

import math
from typing import Callable

import jax
import jax.numpy as jnp

# The network's time input is TIME_SCALE * t, t in [0, 1].
TIME_SCALE = 999.0
TIME_SAMPLING = ('uniform', 'logit_normal')
# -log of a pixel bin's width in model space, 2/255: the nats per dimension that turn a
# density of the dequantised y into a bound on the 8-bit data's -log P.
NATS_PER_DIM_OF_BINS = math.log(255.0 / 2.0)

# (x_t [B, ...], t [B] in [0, 1]) -> velocity [B, ...]
VelocityNet = Callable[[jax.Array, jax.Array], jax.Array]


def _per_example(t: jax.Array, x: jax.Array) -> jax.Array:
  """t [B] broadcast against x [B, ...]."""
  return t.reshape((-1,) + (1,) * (x.ndim - 1))


def interpolant(x0: jax.Array, x1: jax.Array, t: jax.Array, sigma_min: float) -> jax.Array:
  """x_t = t x1 + (1 - (1 - sigma_min) t) x0, for noise x0, data x1 and times t [B]."""
  t = _per_example(t, x0)
  return t * x1 + (1.0 - (1.0 - sigma_min) * t) * x0


def velocity_target(x0: jax.Array, x1: jax.Array, sigma_min: float) -> jax.Array:
  """u = d x_t / dt = x1 - (1 - sigma_min) x0: the same at every t on the straight path."""
  return x1 - (1.0 - sigma_min) * x0


def sample_time(rng: jax.Array, n: int, time_sampling: str = 'uniform',
                logit_mean: float = 0.0, logit_std: float = 1.0) -> jax.Array:
  """n times in [0, 1]: uniform, or logit-normal sigmoid(logit_mean + logit_std * N(0, 1))."""
  if time_sampling == 'uniform':
    return jax.random.uniform(rng, (n,))
  if time_sampling == 'logit_normal':
    return jax.nn.sigmoid(logit_mean + logit_std * jax.random.normal(rng, (n,)))
  raise ValueError(f'time_sampling={time_sampling!r}; choose one of {TIME_SAMPLING}.')


def loss_terms(velocity: VelocityNet, x1: jax.Array, rng: jax.Array, *,
               sigma_min: float = 0.0, time_sampling: str = 'uniform',
               logit_mean: float = 0.0, logit_std: float = 1.0,
               x0: jax.Array | None = None) -> jax.Array:
  """Per-example flow-matching loss [B]: the mean over pixels of ||v(x_t, t) - u||^2, for
  data x1, noise x0 ~ N(0, I) and t from `sample_time`; `velocity` takes t in [0, 1].
  Given x0, each x1 is paired with its own x0 instead of independent noise: reflow's
  coupling (Liu et al., 2023), x1 the end point of a trained flow's ODE from x0."""
  t_rng, noise_rng = jax.random.split(rng)
  t = sample_time(t_rng, x1.shape[0], time_sampling, logit_mean, logit_std)
  if x0 is None:
    x0 = jax.random.normal(noise_rng, x1.shape, x1.dtype)
  err = (velocity(interpolant(x0, x1, t, sigma_min), t)
         - velocity_target(x0, x1, sigma_min)) ** 2
  return err.reshape(err.shape[0], -1).mean(-1)


def drop_labels(rng: jax.Array, labels: jax.Array, null_label: int,
                dropout: float) -> jax.Array:
  """Each label replaced by `null_label` with probability `dropout`: one network then
  learns v(x, t | y) and v(x, t) (Ho & Salimans, 2022), for classifier-free guidance."""
  keep = jax.random.uniform(rng, labels.shape) >= dropout
  return jnp.where(keep, labels, null_label)


def dequantize(x: jax.Array, u: jax.Array) -> jax.Array:
  """Model-space pixels x = 2k/255 - 1 and u in [0, 1) -> y uniform over x's bin."""
  return x + (2.0 * u - 1.0) / 255.0


def nats_of_pixels(log_p_y: jax.Array, num_dims: int) -> jax.Array:
  """log p(y) of the dequantised y [B] -> the bound on -log P(k) of the 8-bit data [B]."""
  return -log_p_y + num_dims * NATS_PER_DIM_OF_BINS


def bits_per_dim(nats: jax.Array, num_dims: int) -> jax.Array:
  return nats / (num_dims * math.log(2.0))
