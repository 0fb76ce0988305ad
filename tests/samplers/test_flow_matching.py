"""The flow-matching ODE solvers: the closed-form Gaussian flow (integrated, and run back
by the ODE likelihood), their orders, their NFE counts, classifier-free guidance and the
options they refuse."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from genjax.errors import OptionError, UserError
from genjax.objectives import ode_likelihood
from genjax.samplers import flow_matching as fm

# Data N(MEAN, STD^2) per coordinate, noise N(0, 1), sigma_min = 0.
MEAN, STD = jnp.array([2.0, -1.0]), jnp.array([0.5, 3.0])


def _optimal_velocity(x, t):
  """E[x1 - x0 | x_t = x] for x_t = t x1 + (1 - t) x0: x_t is Gaussian with mean t m and
  variance t^2 s^2 + (1 - t)^2, and v = m + (d var/dt / (2 var)) (x - t m)."""
  var = t ** 2 * STD ** 2 + (1 - t) ** 2
  return MEAN + (t * STD ** 2 - (1 - t)) / var * (x - t * MEAN)


def _counting(velocity, calls):
  """velocity, appending to `calls` at each evaluation (inside jit and diffrax's loop)."""
  def counted(x, t):
    jax.debug.callback(lambda: calls.append(1))
    return velocity(x, t)
  return counted


# Each solver's largest error in the map, and in the moments, at its step count.
@pytest.mark.parametrize('solver,steps,map_tol,tol', [('euler', 200, 0.15, 0.02),
                                                      ('heun', 20, 0.05, 0.005),
                                                      ('adaptive', 1, 1e-4, 1e-5)])
def test_each_solver_maps_noise_to_the_target_gaussian(solver, steps, map_tol, tol):
  x0 = jax.random.normal(jax.random.PRNGKey(0), (4096, 2))
  calls = []
  x1, nfe = jax.jit(lambda x: fm.integrate(_counting(_optimal_velocity, calls), x,
                                           solver=solver, steps=steps, rtol=1e-6,
                                           atol=1e-6))(x0)
  # The flow of the optimal field is the affine map from N(0, 1) onto N(m, s^2).
  np.testing.assert_allclose(x1, MEAN + STD * x0, atol=map_tol)
  np.testing.assert_allclose(x1.mean(0), MEAN + STD * x0.mean(0), atol=tol * 10)
  np.testing.assert_allclose(x1.std(0) / x0.std(0), STD, rtol=tol)
  # The NFE is the count of evaluations (the adaptive solve here rejects a step, which
  # costs its 6 as an accepted one does).
  jax.effects_barrier()
  assert int(nfe) == len(calls) == {'euler': steps, 'heun': 2 * steps}.get(solver, len(calls))


def test_the_ode_likelihood_of_that_flow_from_data_at_1_to_noise_at_0_is_the_targets():
  x = jnp.array([[2.5, 0.0], [1.0, -4.0], [2.0, -1.0]])
  log_p, _ = ode_likelihood.log_likelihood(_optimal_velocity, x, jax.random.PRNGKey(1),
                                           t_data=1.0, t_noise=0.0, divergence='exact')
  target = (-0.5 * ((x - MEAN) / STD) ** 2 - jnp.log(STD) - 0.5 * jnp.log(2 * jnp.pi)).sum(-1)
  np.testing.assert_allclose(log_p, target, atol=1e-4)


def test_euler_and_heun_converge_to_the_adaptive_solution_at_their_orders():
  a = jnp.array([[-0.5, 2.0], [-2.0, -0.5]])
  velocity = lambda x, t: (x @ a.T) * (1.0 + t)  # linear, time-varying
  x0 = jnp.array([[1.0, 0.5], [-0.3, 2.0]])
  solve = jax.jit(lambda steps, solver: fm.integrate(velocity, x0, solver=solver,
                                                     steps=steps)[0], static_argnums=1)
  calls = []
  reference, nfe = fm.integrate(_counting(velocity, calls), x0, solver='adaptive',
                                rtol=1e-7, atol=1e-7)
  jax.effects_barrier()
  assert int(nfe) == len(calls) > 6 * 20  # 18 accepted steps and 4 rejected
  for solver, order in (('euler', 1), ('heun', 2)):
    errors = [float(jnp.abs(solve(steps, solver) - reference).max()) for steps in (16, 32, 64)]
    ratios = np.asarray(errors[:-1]) / np.asarray(errors[1:])
    np.testing.assert_allclose(ratios, 2.0 ** order, rtol=0.2, err_msg=f'{solver} {errors}')


def test_guidance_zero_is_the_conditional_velocity():
  # A toy net whose velocity depends on the label: v = x * (s + 1) + label.
  net = lambda x, s, labels: x * (s[:, None] + 1.0) + labels[:, None].astype(x.dtype)
  x, s, y = jnp.ones((3, 2)), jnp.full((3,), 0.5), jnp.array([1, 2, 3])
  cond, uncond = net(x, s, y), net(x, s, jnp.full((3,), 7))
  np.testing.assert_allclose(fm.guided(net, y, 7, 0.0)(x, s), cond)
  np.testing.assert_allclose(fm.guided(net, y, 7, 2.0)(x, s), 3.0 * cond - 2.0 * uncond)
  # Time enters the network scaled.
  velocity = fm.velocity_of_net(lambda x, s: net(x, s, y), 999.0)
  np.testing.assert_allclose(velocity(x, 0.25), net(x, jnp.full((3,), 249.75), y))


@pytest.mark.parametrize('solver,steps', [('rk4', 10), ('euler', 0), ('heun', 2.5),
                                          ('euler', fm.MAX_STEPS + 1)])
def test_a_solver_or_step_count_it_does_not_take_is_one_line(solver, steps):
  with pytest.raises(OptionError) as e:
    fm.integrate(lambda x, t: x, jnp.ones((1, 2)), solver=solver, steps=steps)
  assert isinstance(e.value, UserError) and '\n' not in str(e.value)
  assert (solver if solver == 'rk4' else f'steps={steps}') in str(e.value)
