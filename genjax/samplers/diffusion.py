"""DDPM samplers, each one `lax.scan` over the timesteps (jit them whole).

`denoise(x_t, t) -> network output` is the model with its params bound; `prediction`
says whether that output is eps, x0 or v. The starting noise x_T is an argument, and
`rng` only drives the per-step noise, so a deterministic sampler (DDIM at eta = 0) can be
checked to ignore it.

- `ddpm_sample`: ancestral sampling (Ho et al., 2020, Algorithm 2), x_{t-1} = mu(x_t, x0_hat)
  + sigma_t z, with x0_hat clipped to [-1, 1] and no noise at the last step.
- `ddim_sample`: Song et al. (2021), eq. 12, on an evenly spaced subsequence of timesteps;
  eta = 0 is deterministic, eta = 1 matches DDPM's posterior variance.
- `keep` (both samplers): step indices (0 = the first step, from x_T) after which to record
  x and the predicted x0; the sampler then returns (x_0, trajectory), the frames collected
  in the scan's carry, so memory grows with len(keep), not with the number of steps. Ho et
  al.'s progressive-generation figure (their Fig. 6) is this trajectory.
- `guided`: classifier-free guidance (Ho & Salimans, 2022):
  eps = eps(x, t, none) + w (eps(x, t, y) - eps(x, t, none)); w = 1 is the plain
  conditional model, w = 0 the unconditional one, w > 1 sharpens towards the class.
"""

from __future__ import annotations

from typing import Callable

import jax
import jax.numpy as jnp
import numpy as np

from genjax.diffusion import schedules as sch

DenoiseFn = Callable[[jax.Array, jax.Array], jax.Array]


def guided(net: Callable[[jax.Array, jax.Array, jax.Array | None], jax.Array],
           y: jax.Array, null_label: int, guidance_scale) -> DenoiseFn:
  """denoise(x, t) from net(x, t, y): both branches in one batch of 2B."""

  def denoise(x, t):
    b = x.shape[0]
    labels = jnp.concatenate([y, jnp.full((b,), null_label, y.dtype)])
    out = net(jnp.concatenate([x, x]), jnp.concatenate([t, t]), labels)
    cond, uncond = out[:b], out[b:]
    return uncond + guidance_scale * (cond - uncond)

  return denoise


def _clipped_x0(schedule, x, t, out, prediction, clip):
  _, x0 = sch.eps_x0_from_prediction(schedule, x, t, out, prediction)
  return jnp.clip(x0, -1.0, 1.0) if clip else x0


def trajectory_steps(num_steps: int, count: int) -> np.ndarray:
  """`count` evenly spaced step indices of a `num_steps`-step sampler, ending at the last
  (fewer when count > num_steps); one frame is the last step, the sample itself."""
  if count == 1:
    return np.array([num_steps - 1], np.int32)
  return np.unique(np.round(np.linspace(0, num_steps - 1, count)).astype(np.int32))


def _scan_keeping(step, x_T, inputs, keep, x_timesteps):
  """Runs `step(x, inputs) -> (x, x0_pred)` under lax.scan; with `keep`, also records
  both after the kept steps. x_timesteps[j]: the paper's t of x after step j (0: data)."""
  if keep is None:
    x, _ = jax.lax.scan(lambda x, inp: (step(x, inp)[0], None), x_T, inputs)
    return x
  keep = jnp.asarray(keep, jnp.int32)
  frames = jnp.zeros((len(keep),) + x_T.shape, x_T.dtype)

  def kept_step(carry, inp):
    (x, xs, x0s), j = carry, inp[0]
    x, x0 = step(x, inp[1:])
    hit = (keep == j).reshape((-1,) + (1,) * x.ndim)
    return (x, jnp.where(hit, x[None], xs), jnp.where(hit, x0[None], x0s)), None

  n = len(x_timesteps)
  (x, xs, x0s), _ = jax.lax.scan(kept_step, (x_T, frames, frames),
                                 (jnp.arange(n),) + tuple(inputs))
  return x, {'x_t': xs, 'x0_pred': x0s, 't': jnp.asarray(x_timesteps)[keep]}


def ddpm_sample(denoise: DenoiseFn, schedule: sch.Schedule, x_T: jax.Array, rng: jax.Array,
                prediction: str = 'eps', variance: str = 'fixedlarge',
                clip: bool = True, keep=None):
  """Ancestral sampling from x_T over all T steps; returns x_0 in model space [-1, 1].

  With `keep` (step indices in 0..T-1), returns (x_0, trajectory): trajectory['x_t'] and
  ['x0_pred'] are [len(keep), B, ...], x and the clipped x0 prediction after each kept
  step, and ['t'] the paper's t of each kept x (T - 1 - step; 0 for the final x_0).
  """
  T, b = schedule.num_timesteps, x_T.shape[0]

  def step(x, inputs):
    i, key = inputs
    t = jnp.full((b,), i)
    x0 = _clipped_x0(schedule, x, t, denoise(x, t), prediction, clip)
    mean, _, _ = sch.posterior_mean_variance(schedule, x0, x, t)
    logvar = sch.model_log_variance(schedule, t, x, variance)
    noise = jax.random.normal(key, x.shape, x.dtype)
    return mean + jnp.where(i > 0, jnp.exp(0.5 * logvar), 0.0) * noise, x0

  return _scan_keeping(step, x_T, (jnp.arange(T - 1, -1, -1), jax.random.split(rng, T)),
                       keep, np.arange(T - 1, -1, -1))


def ddim_timesteps(num_timesteps: int, num_steps: int) -> np.ndarray:
  """DDIM's subsequence tau of 0..T-1 (Song et al., 2021, sec. 4.2), increasing.

  The sampler walks it backwards: its first step is at T-1, from x_T, and its last at
  tau_1, to x_0. For num_steps >= 2 the timesteps are evenly spaced from 0 to T-1 (distinct,
  since the spacing (T-1)/(n-1) is at least 1); one step is [T-1], x_T straight to the
  predicted x0 (an evenly spaced [0] would denoise x_T as if it were x_1 and return noise).
  """
  if not 1 <= num_steps <= num_timesteps:
    raise ValueError(f'DDIM steps must be in 1..T = {num_timesteps}, got {num_steps}; '
                     'choose a step count within it.')
  if num_steps == 1:
    return np.array([num_timesteps - 1], np.int32)
  return np.round(np.linspace(0, num_timesteps - 1, num_steps)).astype(np.int32)


def ddim_sample(denoise: DenoiseFn, schedule: sch.Schedule, x_T: jax.Array, rng: jax.Array,
                num_steps: int = 50, eta: float = 0.0, prediction: str = 'eps',
                clip: bool = True, keep=None):
  """DDIM from x_T on `num_steps` timesteps; returns x_0 in model space.

  At eta = 1 each step samples the DDPM posterior q(x_prev | x_t, x0_hat) between the
  subsequence's timesteps, i.e. strided ancestral sampling (fixedsmall variance). `keep`
  as in `ddpm_sample`, with step indices in 0..num_steps-1.
  """
  taus = ddim_timesteps(schedule.num_timesteps, num_steps)
  prevs = np.append(-1, taus[:-1])  # -1: abar = 1, i.e. x_0 itself
  b = x_T.shape[0]
  abar_all = schedule.alphas_cumprod

  def step(x, inputs):
    i, i_prev, key = inputs
    t = jnp.full((b,), i)
    out = denoise(x, t)
    x0 = _clipped_x0(schedule, x, t, out, prediction, clip)
    eps = sch.predict_eps_from_x0(schedule, x, t, x0)
    abar, abar_prev = abar_all[i], jnp.where(i_prev >= 0, abar_all[i_prev], 1.0)
    sigma = eta * jnp.sqrt((1 - abar_prev) / (1 - abar) * (1 - abar / abar_prev))
    noise = jax.random.normal(key, x.shape, x.dtype)
    x = (jnp.sqrt(abar_prev) * x0 + jnp.sqrt(jnp.maximum(1 - abar_prev - sigma**2, 0.0)) * eps
         + sigma * noise)
    return x, x0

  return _scan_keeping(step, x_T, (jnp.asarray(taus[::-1]), jnp.asarray(prevs[::-1]),
                                   jax.random.split(rng, len(taus))), keep, prevs[::-1] + 1)
