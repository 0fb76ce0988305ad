"""Sampling a flow-matching model: dx/dt = v(x, t) from t = 0 (noise) to t = 1 (data).

`velocity(x, t)` takes a batch x [B, ...] and a scalar t in [0, 1]. `integrate` solves the
ODE with diffrax and returns the end point and the number of evaluations of `velocity`
(NFE), the cost the papers report (Lipman et al., 2023, Table 1; Liu et al., 2023):

- 'euler' and 'heun': `steps` equal steps of 1/steps; `steps` and 2 `steps` evaluations.
  Euler's error falls as 1/steps, Heun's (second order) as 1/steps^2.
- 'adaptive': Dormand-Prince 5(4) (Lipman et al.'s dopri5, Liu et al.'s RK45) with a PID
  step-size controller at tolerances `rtol` and `atol`, on the whole batch as one state (so
  one step size for the batch, as score_sde's solver has it); `steps` is not used. Its 7
  stages share the first with the last (FSAL): 6 evaluations a step, accepted or
  rejected, and one at the start.

`steps` may be traced (one compile serves every step count up to `max_steps`); the solver
is static. `guided` is classifier-free guidance in the velocity,
v = (1 + w) v(x, t | y) - w v(x, t): w = 0 is the conditional model; one guided evaluation
runs the network once on a batch of 2B.
"""

from __future__ import annotations

import numbers
from typing import Callable

import diffrax
import jax
import jax.numpy as jnp

from genjax.errors import OptionError

SOLVERS = ('euler', 'heun', 'adaptive')
# The most steps a solve takes: fixed steps above it are refused, an adaptive solve that
# needs more stops with diffrax's error.
MAX_STEPS = 4096
# Evaluations of the velocity per step, and at the start (`integrate`'s NFE).
_EVALS_PER_STEP = {'euler': (1, 0), 'heun': (2, 0), 'adaptive': (6, 1)}

# (x [B, ...], t scalar) -> dx/dt [B, ...]
Velocity = Callable[[jax.Array, jax.Array], jax.Array]


def check_options(solver: str, steps) -> None:
  """Refuses, in one line, a solver or a (concrete) step count that `integrate` does not
  take."""
  if solver not in SOLVERS:
    raise OptionError(f'solver={solver!r}: choose one of {SOLVERS}.')
  if isinstance(steps, numbers.Number) and (
      int(steps) != steps or not 1 <= steps <= MAX_STEPS):
    raise OptionError(f'steps={steps}: the fixed-step solvers take an integer number of '
                      f'steps in 1..{MAX_STEPS}.')


def integrate(velocity: Velocity, x_noise: jax.Array, *, solver: str = 'adaptive',
              steps=100, rtol: float = 1e-5, atol: float = 1e-5,
              max_steps: int = MAX_STEPS) -> tuple[jax.Array, jax.Array]:
  """x at t = 1 from x_noise at t = 0 along dx/dt = velocity(x, t), and the evaluations of
  `velocity` it took (an int32 scalar)."""
  check_options(solver, steps)
  term = diffrax.ODETerm(lambda t, x, args: velocity(x, t))
  if solver == 'adaptive':
    method, dt0 = diffrax.Dopri5(), None  # diffrax picks the first step
    controller = diffrax.PIDController(rtol=rtol, atol=atol)
  else:
    method = diffrax.Euler() if solver == 'euler' else diffrax.Heun()
    dt0 = 1.0 / jnp.asarray(steps, jnp.float32)
    controller = diffrax.ConstantStepSize()
  solution = diffrax.diffeqsolve(term, method, t0=0.0, t1=1.0, dt0=dt0, y0=x_noise,
                                 stepsize_controller=controller,
                                 saveat=diffrax.SaveAt(t1=True), max_steps=max_steps)
  per_step, at_start = _EVALS_PER_STEP[solver]
  nfe = per_step * solution.stats['num_steps'] + at_start
  return solution.ys[0], jnp.asarray(nfe, jnp.int32)


def velocity_of_net(net: Callable[[jax.Array, jax.Array], jax.Array],
                    time_scale: float) -> Velocity:
  """velocity(x, t) from a network net(x, s [B]) that reads time as s = time_scale * t."""
  return lambda x, t: net(x, jnp.full((x.shape[0],), time_scale * t, jnp.float32))


def guided(net: Callable[[jax.Array, jax.Array, jax.Array], jax.Array], y: jax.Array,
           null_label: int, guidance_scale) -> Callable[[jax.Array, jax.Array], jax.Array]:
  """net(x, s, labels) -> v(x, s) = (1 + w) v(x, s | y) - w v(x, s | null): both branches
  in one batch of 2B."""

  def velocity(x, s):
    b = x.shape[0]
    labels = jnp.concatenate([y, jnp.full((b,), null_label, y.dtype)])
    out = net(jnp.concatenate([x, x]), jnp.concatenate([s, s]), labels)
    cond, uncond = out[:b], out[b:]
    return (1.0 + guidance_scale) * cond - guidance_scale * uncond

  return velocity
