"""The GAN game as math: the optimal discriminator, its value, and the two generator losses'
gradients as D rejects the samples."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from genjax.objectives import gan

# p_d = N(0, 1) and p_g = N(1, 0.8^2): their log density ratio is quadratic in x, so a
# discriminator with a quadratic logit can represent D* = p_d / (p_d + p_g) exactly.
MU_D, SD_D, MU_G, SD_G = 0.0, 1.0, 1.0, 0.8


def _log_normal(x, mu, sd):
  return -0.5 * ((x - mu) / sd) ** 2 - np.log(sd * np.sqrt(2 * np.pi))


def _optimal_d(x):
  pd, pg = np.exp(_log_normal(x, MU_D, SD_D)), np.exp(_log_normal(x, MU_G, SD_G))
  return pd / (pd + pg)


@pytest.mark.slow
def test_the_discriminator_converges_to_the_density_ratio_on_a_grid():
  rng = np.random.default_rng(0)
  n = 20000
  real = jnp.asarray(rng.normal(MU_D, SD_D, n), jnp.float32)
  fake = jnp.asarray(rng.normal(MU_G, SD_G, n), jnp.float32)  # G fixed: its samples

  def logit(w, x):
    return w[0] + w[1] * x + w[2] * x ** 2

  loss = lambda w: gan.discriminator_loss(logit(w, real), logit(w, fake))
  # The loss is convex in w: plain gradient descent converges.
  w = jax.jit(lambda w: jax.lax.fori_loop(0, 3000, lambda _, w: w - 0.5 * jax.grad(loss)(w),
                                          w))(jnp.zeros(3))
  grid = np.linspace(-2.0, 2.5, 46)
  learned = np.asarray(jax.nn.sigmoid(logit(w, jnp.asarray(grid))))
  np.testing.assert_allclose(learned, _optimal_d(grid), atol=0.02)


def _jsd_by_quadrature(x, pd, pg):
  m = (pd + pg) / 2
  kl = lambda p: np.trapezoid(p * (np.log(p) - np.log(m)), x)
  return 0.5 * kl(pd) + 0.5 * kl(pg)


def test_the_value_at_the_optimal_discriminator_is_minus_log_4_plus_twice_the_jsd():
  x = np.linspace(-12.0, 12.0, 200001)
  pd, pg = np.exp(_log_normal(x, MU_D, SD_D)), np.exp(_log_normal(x, MU_G, SD_G))
  jsd = _jsd_by_quadrature(x, pd, pg)
  assert 0.0 < jsd < np.log(2)
  log_pd, log_pg = _log_normal(x, MU_D, SD_D), _log_normal(x, MU_G, SD_G)
  log_sum = np.logaddexp(log_pd, log_pg)  # log D* and log(1 - D*), finite in the tails
  v_quad = np.trapezoid(pd * (log_pd - log_sum) + pg * (log_pg - log_sum), x)
  np.testing.assert_allclose(v_quad, -np.log(4) + 2 * jsd, rtol=1e-8)
  # The library's V on samples, with D*'s logit log p_d - log p_g: the same value, within
  # its Monte Carlo error.
  rng = np.random.default_rng(1)
  real, fake = rng.normal(MU_D, SD_D, 400000), rng.normal(MU_G, SD_G, 400000)
  star_logit = lambda v: jnp.asarray(_log_normal(v, MU_D, SD_D) - _log_normal(v, MU_G, SD_G))
  v_mc = float(gan.value(star_logit(real), star_logit(fake)))
  terms = np.concatenate([np.log(_optimal_d(real)), np.log1p(-_optimal_d(fake))])
  se = terms.std() * np.sqrt(2.0 / len(terms))
  assert abs(v_mc - (-np.log(4) + 2 * jsd)) < 4 * se
  # Identical distributions: D* = 1/2 everywhere and V = -log 4.
  zeros = jnp.zeros(100)
  np.testing.assert_allclose(float(gan.value(zeros, zeros)), -np.log(4), rtol=1e-6)


@pytest.mark.parametrize('d_of_fake', [1e-2, 1e-4, 1e-6])
def test_the_minimax_gradient_vanishes_as_d_rejects_samples_and_the_non_saturating_does_not(
    d_of_fake):
  # A fixed linear discriminator logit(x) = <w, x> + b, and G's output x placed where
  # D(x) = d_of_fake.
  w = jnp.asarray([0.6, -0.8])
  b = float(np.log(d_of_fake / (1 - d_of_fake)))
  x = jnp.zeros((1, 2))
  logits = lambda x: x @ w + b
  grad_of = lambda kind: jax.grad(lambda x: gan.generator_loss(logits(x), kind))(x)
  minimax, non_saturating = grad_of('minimax'), grad_of('non_saturating')
  # d/dx log(1 - D) = -D w and d/dx -log D = -(1 - D) w.
  np.testing.assert_allclose(minimax, -d_of_fake * w[None], rtol=1e-4)
  np.testing.assert_allclose(non_saturating, -(1 - d_of_fake) * w[None], rtol=1e-4)
  np.testing.assert_allclose(np.linalg.norm(minimax) / np.linalg.norm(non_saturating),
                             d_of_fake / (1 - d_of_fake), rtol=1e-3)
  # Both push G's output the same way: up D's logit.
  assert float(jnp.sum(minimax * w)) < 0 and float(jnp.sum(non_saturating * w)) < 0


def test_losses_stay_finite_where_a_sigmoid_then_a_log_would_not():
  logits = jnp.asarray([-200.0, 200.0])
  for value in (gan.discriminator_loss(logits, logits), gan.generator_loss(logits),
                gan.generator_loss(logits, 'minimax')):
    assert np.isfinite(float(value))
  with np.errstate(divide='ignore'):
    assert not np.isfinite(np.log(1 - 1 / (1 + np.exp(-200.0))))  # float64, even so


def test_r1_is_half_the_mean_squared_input_gradient():
  w = jnp.asarray([[1.0, 2.0], [3.0, -1.0]])  # logit(x) = sum(x * w) per example
  x = jnp.ones((5, 2, 2))
  penalty, (logits, aux) = gan.r1_penalty(lambda x: (jnp.sum(x * w, axis=(1, 2)), 'aux'), x)
  np.testing.assert_allclose(float(penalty), 0.5 * float(jnp.sum(w ** 2)), rtol=1e-6)
  np.testing.assert_allclose(logits, jnp.full(5, 5.0))
  assert aux == 'aux'


def test_an_unknown_generator_loss_names_the_choices():
  with pytest.raises(ValueError, match='non_saturating'):
    gan.generator_loss(jnp.zeros(2), 'wasserstein')
