"""Samplers against exact denoisers (a point, Gaussian data), DDIM determinism, guidance."""

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from genjax.diffusion import schedules as sch
from genjax.samplers import diffusion as smp

S = sch.make_schedule('linear', 1000)
X0 = jnp.linspace(-0.9, 0.8, 16).reshape(1, 4, 4, 1)


def exact_denoiser(x0):
  """Returns the true noise of x_t for the data distribution that is the point x0."""
  return lambda xt, t: sch.predict_eps_from_x0(S, xt, t, jnp.broadcast_to(x0, xt.shape))


def x_T(n, seed=0):
  return jax.random.normal(jax.random.PRNGKey(seed), (n, 4, 4, 1))


def test_ancestral_sampling_with_the_exact_denoiser_recovers_the_point():
  out = jax.jit(lambda x, r: smp.ddpm_sample(exact_denoiser(X0), S, x, r))(
      x_T(3), jax.random.PRNGKey(1))
  chex.assert_shape(out, (3, 4, 4, 1))
  np.testing.assert_allclose(out, jnp.broadcast_to(X0, out.shape), atol=1e-4)


def test_ddim_is_deterministic_at_eta_zero_and_recovers_the_point():
  run = jax.jit(lambda x, r, eta: smp.ddim_sample(exact_denoiser(X0), S, x, r, 20, eta))
  a = run(x_T(3), jax.random.PRNGKey(1), 0.0)
  b = run(x_T(3), jax.random.PRNGKey(2), 0.0)
  np.testing.assert_array_equal(a, b)
  np.testing.assert_allclose(a, jnp.broadcast_to(X0, a.shape), atol=1e-4)


def test_ddim_eta_zero_is_deterministic_for_any_network_and_eta_one_is_not():
  net = lambda x, t: jnp.tanh(x) * (t[:, None, None, None] / 1000.0)  # not the exact denoiser
  run = jax.jit(lambda x, r, eta: smp.ddim_sample(net, S, x, r, 10, eta))
  np.testing.assert_array_equal(run(x_T(2), jax.random.PRNGKey(1), 0.0),
                                run(x_T(2), jax.random.PRNGKey(2), 0.0))
  assert not np.allclose(run(x_T(2), jax.random.PRNGKey(1), 1.0),
                         run(x_T(2), jax.random.PRNGKey(2), 1.0))


def test_ddim_timesteps():
  taus = smp.ddim_timesteps(1000, 50)
  assert len(taus) == 50 and taus[0] == 0 and taus[-1] == 999
  assert np.all(np.diff(taus) > 0)
  np.testing.assert_array_equal(smp.ddim_timesteps(10, 10), np.arange(10))
  # One step is x_T at t = T-1 straight to x_0, not a step at t = 0.
  np.testing.assert_array_equal(smp.ddim_timesteps(1000, 1), [999])
  np.testing.assert_array_equal(smp.ddim_timesteps(1000, 2), [0, 999])
  np.testing.assert_array_equal(smp.ddim_timesteps(1000, 10), np.arange(0, 1000, 111))
  for n in range(1, 1001):
    taus = smp.ddim_timesteps(1000, n)
    assert len(taus) == n and taus[-1] == 999 and (n == 1 or taus[0] == 0), n
    assert np.all(np.diff(taus) > 0), n


@pytest.mark.parametrize('n', [0, 1001, -3])
def test_ddim_timesteps_refuses_step_counts_outside_1_to_T(n):
  with pytest.raises(ValueError, match=r'1\.\.T = 1000.*got ' + str(n)):
    smp.ddim_timesteps(1000, n)


def _timesteps_seen(sampler, n):
  """The t at which the sampler calls the network, in order, and the t of x after each
  step: an 'x0-network' that outputs its t is read back from the recorded x0 predictions."""
  net = lambda x, t: jnp.broadcast_to(t.astype(x.dtype)[:, None, None, None], x.shape)
  keep = np.arange(n)
  if sampler == 'ddpm':
    run = lambda x, r: smp.ddpm_sample(net, S, x, r, 'x0', clip=False, keep=keep)
  else:
    run = lambda x, r: smp.ddim_sample(net, S, x, r, n, {'ddim': 0.0, 'ddim_eta1': 1.0}[
        sampler], 'x0', clip=False, keep=keep)
  _, traj = jax.jit(run)(x_T(1), jax.random.PRNGKey(0))
  return np.asarray(traj['x0_pred'])[:, 0, 0, 0, 0].astype(int), np.asarray(traj['t'])


@pytest.mark.parametrize('sampler,n', [(s, n) for s in ('ddim', 'ddim_eta1')
                                       for n in (1, 2, 3, 10, 999, 1000)] + [('ddpm', 1000)])
def test_every_sampler_walks_from_T_minus_1_down_to_0_once_per_step(sampler, n):
  seen, x_t = _timesteps_seen(sampler, n)
  assert len(seen) == n and seen[0] == 999, seen
  assert np.all(np.diff(seen) < 0), seen  # strictly decreasing: no timestep twice
  assert n == 1 or seen[-1] == 0, seen
  np.testing.assert_array_equal(seen[::-1], smp.ddim_timesteps(1000, n))
  # Step j takes x from t = seen[j] to seen[j + 1] in 0-indexed t; the paper's t is one more,
  # and the last step lands on the data, t = 0.
  np.testing.assert_array_equal(x_t, np.append(seen[1:] + 1, 0))


def test_trajectory_steps_of_one_frame_is_the_sample():
  np.testing.assert_array_equal(smp.trajectory_steps(1000, 1), [999])
  np.testing.assert_array_equal(smp.trajectory_steps(20, 2), [0, 19])


def test_classifier_free_guidance_combines_the_two_branches():
  """A 'network' whose conditional output is y and unconditional output is -1: guidance
  w gives -1 + w (y + 1); w = 1 is conditional, w = 0 unconditional."""
  null = 10
  net = lambda x, t, y: jnp.broadcast_to(
      jnp.where(y == null, -1.0, y.astype(jnp.float32))[:, None, None, None], x.shape)
  y = jnp.array([2, 5])
  x, t = x_T(2), jnp.array([7, 7])
  for w in (0.0, 1.0, 3.0):
    out = smp.guided(net, y, null, w)(x, t)
    np.testing.assert_allclose(out[:, 0, 0, 0], -1 + w * (np.array([2, 5]) + 1))


def test_guided_sampling_of_two_classes_goes_to_each_class_point():
  """Exact conditional denoisers for two one-point classes; w = 1 recovers each point."""
  points = jnp.concatenate([X0, -X0])  # class 0 -> X0, class 1 -> -X0; 'none' -> X0

  def net(x, t, y):
    target = points[jnp.where(y == 2, 0, y)]
    return sch.predict_eps_from_x0(S, x, t, target)

  y = jnp.array([0, 1, 1])
  out = jax.jit(lambda x, r: smp.ddim_sample(smp.guided(net, y, 2, 1.0), S, x, r, 25))(
      x_T(3), jax.random.PRNGKey(3))
  np.testing.assert_allclose(out, points[y], atol=1e-4)


@pytest.mark.parametrize('prediction', ['x0', 'v'])
def test_other_parameterisations_sample_the_point(prediction):
  """Exact x0- or v-networks for the one-point data set recover it too."""
  def net(xt, t):
    eps = sch.predict_eps_from_x0(S, xt, t, jnp.broadcast_to(X0, xt.shape))
    x0 = jnp.broadcast_to(X0, xt.shape)
    return x0 if prediction == 'x0' else sch.v_target(S, x0, t, eps)

  out = jax.jit(lambda x, r: smp.ddim_sample(net, S, x, r, 10, 0.0, prediction))(
      x_T(2), jax.random.PRNGKey(4))
  np.testing.assert_allclose(out, jnp.broadcast_to(X0, out.shape), atol=1e-4)


def test_ddpm_trajectory_keeps_the_chosen_steps_and_ends_at_the_sample():
  keep = smp.trajectory_steps(1000, 4)
  np.testing.assert_array_equal(keep, [0, 333, 666, 999])
  run = jax.jit(lambda x, r: smp.ddpm_sample(exact_denoiser(X0), S, x, r, keep=keep))
  out, traj = run(x_T(3), jax.random.PRNGKey(1))
  chex.assert_shape([traj['x_t'], traj['x0_pred']], (4, 3, 4, 4, 1))
  np.testing.assert_array_equal(traj['t'], [999, 666, 333, 0])
  np.testing.assert_array_equal(traj['x_t'][-1], out)
  # Keeping frames does not change the sampler: same rng, same sample.
  plain = jax.jit(lambda x, r: smp.ddpm_sample(exact_denoiser(X0), S, x, r))(
      x_T(3), jax.random.PRNGKey(1))
  np.testing.assert_allclose(out, plain, atol=1e-6)
  # The exact denoiser predicts the point itself at every step.
  np.testing.assert_allclose(traj['x0_pred'], jnp.broadcast_to(X0, traj['x0_pred'].shape),
                             atol=1e-4)


def test_ddim_trajectory_follows_the_closed_form_deterministic_path():
  """With the exact denoiser at eta = 0, DDIM keeps eps fixed: every kept x is
  sqrt(abar_t) x0 + sqrt(1 - abar_t) eps_T, eps_T the noise of x_T at t = T."""
  steps, keep = 20, jnp.array([0, 7, 19])
  xT = x_T(2)
  out, traj = jax.jit(lambda x, r: smp.ddim_sample(exact_denoiser(X0), S, x, r, steps,
                                                   keep=keep))(xT, jax.random.PRNGKey(1))
  chex.assert_shape(traj['x_t'], (3, 2, 4, 4, 1))
  np.testing.assert_array_equal(traj['x_t'][-1], out)
  taus = smp.ddim_timesteps(1000, steps)
  t = np.asarray(traj['t'])
  np.testing.assert_array_equal(t, np.append(taus[::-1][1:] + 1, 0)[np.asarray(keep)])
  abar = np.asarray(S.alphas_cumprod)
  eps = (xT - np.sqrt(abar[-1]) * X0) / np.sqrt(1 - abar[-1])
  abar_t = np.where(t > 0, abar[np.maximum(t - 1, 0)], 1.0)[:, None, None, None, None]
  np.testing.assert_allclose(traj['x_t'], np.sqrt(abar_t) * X0 + np.sqrt(1 - abar_t) * eps,
                             atol=1e-4)


def gaussian_data_denoiser(mean, std, schedule=S):
  """E[eps | x_t] when x_0 ~ N(mean, std^2) per pixel: the ideal network for that data."""
  def denoise(xt, t):
    abar = schedule.alphas_cumprod[t][:, None, None, None]
    return jnp.sqrt(1 - abar) * (xt - jnp.sqrt(abar) * mean) / (abar * std**2 + 1 - abar)
  return denoise


def _gaussian_samples(sampler, num_steps=1000, mean=0.3, std=0.2):
  net = gaussian_data_denoiser(mean, std)
  x = jax.random.normal(jax.random.PRNGKey(0), (512, 4, 4, 1))
  run = {
      'ddpm': lambda x, r: smp.ddpm_sample(net, S, x, r, clip=False),
      'ddpm_fixedsmall': lambda x, r: smp.ddpm_sample(net, S, x, r, variance='fixedsmall',
                                                      clip=False),
      'ddim': lambda x, r: smp.ddim_sample(net, S, x, r, num_steps, 0.0, clip=False),
      'ddim_eta1': lambda x, r: smp.ddim_sample(net, S, x, r, num_steps, 1.0, clip=False),
  }[sampler]
  return np.asarray(jax.jit(run)(x, jax.random.PRNGKey(1))).ravel()


@pytest.mark.parametrize('sampler', ['ddpm', 'ddpm_fixedsmall', 'ddim', 'ddim_eta1'])
def test_samplers_over_all_steps_with_the_ideal_denoiser_draw_the_data_distribution(sampler):
  # A spread-out data distribution, not one point: each sampler must carry x_T ~ N(0, 1) to
  # N(0.3, 0.2^2) itself, so a misweighted x0_hat, eps or noise term shows as a wrong moment.
  # 8192 draws: the mean's standard error is 0.0022, the std's 0.0016.
  out = _gaussian_samples(sampler)
  assert abs(out.mean() - 0.3) < 0.01, out.mean()
  assert abs(out.std() - 0.2) < 0.01, out.std()


@pytest.mark.parametrize('sampler', ['ddim', 'ddim_eta1'])
def test_few_step_samplers_under_disperse_less_as_the_steps_grow(sampler):
  # Over a long stride both plug in the point estimate x0_hat = E[x0 | x_t] and leave out
  # Var(x0 | x_t): DDIM's deterministic step, and strided ancestral sampling, which draws
  # from q(x_prev | x_t, x0_hat). The samples are too narrow, less so with more steps.
  stds = [_gaussian_samples(sampler, n).std() for n in (10, 50, 1000)]
  assert stds[0] < stds[1] < stds[2], stds
  assert stds[0] < 0.15, stds



# abar_T = 0.99^50 = 0.61: E[x0 | x_T] keeps a visible spread, and float32 loses little.
MILD = sch.from_betas(np.full(50, 0.01))


@pytest.mark.parametrize('schedule', [S, MILD], ids=['linear1000', 'mild50'])
@pytest.mark.parametrize('eta', [0.0, 1.0])
def test_one_step_ddim_returns_the_ideal_x0_prediction_from_x_T(schedule, eta):
  """num_steps = 1 is the network's x0 at t = T-1 (abar_prev = 1, so sigma = 0 at any eta):
  for N(m, s^2) data, E[x0 | x_T] = m + sqrt(abar) s^2 (x_T - sqrt(abar) m) / D with
  D = abar s^2 + 1 - abar, abar that of the last timestep. It is data, not the noise x_T."""
  m, s = 0.3, 0.2
  xT = jax.random.normal(jax.random.PRNGKey(0), (512, 4, 4, 1))
  run = jax.jit(lambda x, r: smp.ddim_sample(gaussian_data_denoiser(m, s, schedule),
                                             schedule, x, r, 1, eta, clip=False))
  out, xT = np.asarray(run(xT, jax.random.PRNGKey(1)), np.float64), np.asarray(xT, np.float64)
  np.testing.assert_array_equal(out, run(jnp.asarray(xT, jnp.float32), jax.random.PRNGKey(2)))
  abar = float(schedule.alphas_cumprod[-1])
  d = abar * s**2 + 1 - abar
  # x0 = (x - sqrt(1 - abar) eps) / sqrt(abar) multiplies float32 rounding by 1/sqrt(abar),
  # 157 for the linear schedule's abar_T = 4e-5, so its tolerance is wider.
  atol, std_rtol = (1e-5, 0.03) if abar > 0.1 else (2e-4, 0.15)
  np.testing.assert_allclose(out, m + np.sqrt(abar) * s**2 * (xT - np.sqrt(abar) * m) / d,
                             atol=atol)
  # Over x_T ~ N(0, 1): mean m (1 - abar s^2 / D), std sqrt(abar) s^2 / D. 8192 draws.
  want_std = np.sqrt(abar) * s**2 / d
  assert abs(out.mean() - m * (1 - abar * s**2 / d)) < max(4 * want_std / 90, 1e-4), out.mean()
  np.testing.assert_allclose(out.std(), want_std, rtol=std_rtol)
  assert out.std() < 0.1 and not np.allclose(out, xT, atol=0.1)  # data, not the noise x_T
