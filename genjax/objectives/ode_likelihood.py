"""Exact log-likelihood through a probability-flow ODE (a continuous normalising flow).

A velocity field v(x, t) carries the data at t_data to a standard normal at t_noise. Along
a path x_t, the instantaneous change of variables (Chen et al., 2018; Grathwohl et al.,
2019) gives d log p_t(x_t)/dt = -div v(x_t, t), so

  log p_{t_data}(x) = log N(x_{t_noise}; 0, I) + int_{t_data}^{t_noise} div v(x_t, t) dt,

with x_t the solution of dx/dt = v started at x. `log_likelihood` integrates the augmented
state (x_t, that integral) with one of diffrax's adaptive Runge-Kutta solvers, in either
direction of time: flow matching puts the data at t = 1 and the noise at t = 0; the
diffusion probability-flow ODE (Song et al., 2021) the data near t = 0 and the noise at 1.

The divergence is 'exact' (the Jacobian's trace, one forward-mode pass per dimension: for
small D) or 'hutchinson': the Hutchinson-Skilling estimate eps^T (dv/dx) eps from one
reverse-mode pass, with one Rademacher eps per example held fixed for the whole solve, as
Song et al. (2021) and Grathwohl et al. (2019) compute it. Its log p is then an unbiased
estimate of the exact one (the integral is linear in the estimate).

The velocity takes a batch, `velocity(x [B, ...], t scalar) -> dx/dt [B, ...]`, and must
treat the examples independently (no batch statistics): both divergences differentiate
the whole batch at once and read each example's own terms. The batch shares the solver's
steps, as in Song et al.'s code.

Densities of 8-bit images: `dequantize` maps pixels k to x = low + (high - low)(k + u)/256
with u ~ U[0, 1)^D; the density of x bounds the discrete P(k) in expectation over u
(Theis et al., 2016): -log2 P(k) <= -log2 p(x) - D log2((high - low)/256). So bits/dim is
`bits_per_dim(log_p, D, dequantization_offset())`, whose offset for [-1, 1] is ln 128 nats
(7 bits) per dimension, Song et al.'s "+7".
"""

from __future__ import annotations

import math
from typing import Callable

import diffrax
import jax
import jax.numpy as jnp
import numpy as np

from genjax.metrics.standard_error import standard_error

# (x [B, ...], t scalar) -> dx/dt [B, ...]
Velocity = Callable[[jax.Array, jax.Array], jax.Array]

DIVERGENCES = ('hutchinson', 'exact')
# Each solver, and the velocity evaluations one of its steps costs: both are 7-stage
# first-same-as-last schemes, so a step (accepted or rejected) evaluates 6 new stages.
SOLVERS = {'dopri5': (diffrax.Dopri5, 6), 'tsit5': (diffrax.Tsit5, 6)}
# Evaluations besides the steps' (the start, where diffrax also picks the first step size):
# what diffrax 0.7 makes, which a test counts with a velocity that counts its calls.
_START_EVALUATIONS = 1
# The tangents the exact divergence pushes through the velocity at once.
_EXACT_CHUNK = 64


def _per_example_sum(x: jax.Array) -> jax.Array:
  return x.reshape(x.shape[0], -1).sum(-1)


def standard_normal_log_density(z: jax.Array) -> jax.Array:
  """log N(z; 0, I) over all of each example's dimensions, [B] nats."""
  dims = math.prod(z.shape[1:])
  return -0.5 * _per_example_sum(z ** 2) - 0.5 * dims * math.log(2 * math.pi)


def hutchinson_divergence(velocity: Velocity, x: jax.Array, t: jax.Array,
                          eps: jax.Array) -> tuple[jax.Array, jax.Array]:
  """(v(x, t), eps^T (dv/dx) eps per example [B]): one vjp, an unbiased estimate of the
  divergence when eps has independent entries of mean 0 and variance 1."""
  v, vjp = jax.vjp(lambda y: velocity(y, t), x)
  (eps_jacobian,) = vjp(eps)
  return v, _per_example_sum(eps_jacobian * eps)


def exact_divergence(velocity: Velocity, x: jax.Array,
                     t: jax.Array) -> tuple[jax.Array, jax.Array]:
  """(v(x, t), the trace of dv/dx per example [B]): the Jacobian's diagonal, one column
  per dimension by forward mode (the same dimension of every example at once)."""
  b, shape = x.shape[0], x.shape[1:]
  dims = math.prod(shape)
  v, jvp = jax.linearize(lambda y: velocity(y, t), x)

  def diagonal_entry(d):
    basis = jnp.zeros((dims,), x.dtype).at[d].set(1.0).reshape(shape)
    column = jvp(jnp.broadcast_to(basis, x.shape))
    return column.reshape(b, dims)[:, d]

  entries = jax.lax.map(diagonal_entry, jnp.arange(dims), batch_size=min(dims, _EXACT_CHUNK))
  return v, entries.sum(0)


def log_likelihood(velocity: Velocity, x: jax.Array, rng: jax.Array, *, t_data: float,
                   t_noise: float, divergence: str = 'hutchinson', rtol: float = 1e-5,
                   atol: float = 1e-5, solver: str = 'dopri5',
                   max_steps: int = 4096) -> tuple[jax.Array, jax.Array]:
  """log p(x) under the flow of `velocity` from t_data to a standard normal at t_noise.

  Args:
    velocity: (x [B, ...], t) -> dx/dt, each example on its own.
    x: [B, ...] the data at t_data.
    rng: draws the Rademacher probes of 'hutchinson' (one per example); unused by 'exact'.
    t_data, t_noise: the times of the data and of the standard normal; either order.
    divergence: 'hutchinson' (one vjp per evaluation) or 'exact' (D jvps).
    rtol, atol: the adaptive step size controller's tolerances (Song et al.: 1e-5 both).
    solver: 'dopri5' (RK45, as scipy's and Song et al.'s) or 'tsit5'.
    max_steps: the solver's step limit; a solve that needs more raises.

  Returns:
    (log p [B] in nats, the number of velocity evaluations the solve made, a scalar).

  Example:
    >>> v = lambda x, t: jnp.zeros_like(x)  # the identity flow: log p = log N(x; 0, I)
    >>> log_p, nfe = log_likelihood(v, x, rng, t_data=0.0, t_noise=1.0)
  """
  if divergence not in DIVERGENCES:
    raise ValueError(f"divergence={divergence!r}; choose one of {DIVERGENCES}.")
  if solver not in SOLVERS:
    raise ValueError(f'solver={solver!r}; choose one of {tuple(SOLVERS)}.')
  x = jnp.asarray(x, jnp.float32)
  eps = jax.random.rademacher(rng, x.shape, x.dtype)

  def field(t, state, args):
    del args
    y, _ = state
    if divergence == 'hutchinson':
      return hutchinson_divergence(velocity, y, t, eps)
    return exact_divergence(velocity, y, t)

  solver_type, evaluations_per_step = SOLVERS[solver]
  solution = diffrax.diffeqsolve(
      diffrax.ODETerm(field), solver_type(), t0=float(t_data), t1=float(t_noise), dt0=None,
      y0=(x, jnp.zeros((x.shape[0],), x.dtype)),
      stepsize_controller=diffrax.PIDController(rtol=rtol, atol=atol),
      saveat=diffrax.SaveAt(t1=True), max_steps=max_steps)
  z, integral = solution.ys[0][-1], solution.ys[1][-1]
  nfe = evaluations_per_step * solution.stats['num_steps'] + _START_EVALUATIONS
  return standard_normal_log_density(z) + integral, nfe


def dequantize(images01: jax.Array, rng: jax.Array, low: float = -1.0,
               high: float = 1.0) -> jax.Array:
  """8-bit images k/255 in [0, 1] -> low + (high - low)(k + u)/256, u ~ U[0, 1)."""
  k = jnp.round(jnp.asarray(images01, jnp.float32) * 255.0)
  u = jax.random.uniform(rng, k.shape, jnp.float32)
  return low + (high - low) * (k + u) / 256.0


def dequantization_offset(low: float = -1.0, high: float = 1.0, levels: int = 256) -> float:
  """Nats per dimension from a density over [low, high]^D of the dequantised data to the
  discrete data's rate: -ln of one level's width, ln 128 for [-1, 1]."""
  return math.log(levels / (high - low))


def bits_per_dim(log_p, dims: int, offset_nats_per_dim: float = 0.0):
  """(-log p / D + offset) / ln 2: bits per dimension of examples with log-density log_p
  (nats), plus an offset in nats per dimension (`dequantization_offset`)."""
  return (-log_p / dims + offset_nats_per_dim) / math.log(2.0)


def mean_and_standard_error(values) -> tuple[float, float]:
  """The mean of per-example values and its standard error (NaN for one example)."""
  values = np.asarray(values, np.float64)
  mean = float(values.mean())
  if len(values) < 2:
    return mean, float('nan')
  return mean, standard_error(mean, float(np.mean(values ** 2)), len(values))
