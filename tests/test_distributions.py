"""Distributions: log_prob against hand formulas, KL closed form against Monte Carlo."""

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import stats

from genjax import distributions as D


def _random_gaussian(key, shape):
  k1, k2 = jax.random.split(key)
  return D.DiagGaussian(jax.random.normal(k1, shape), 0.5 * jax.random.normal(k2, shape))


def test_gaussian_log_prob_matches_scipy():
  q = _random_gaussian(jax.random.PRNGKey(0), (4, 3))
  x = jax.random.normal(jax.random.PRNGKey(1), (4, 3))
  expected = stats.norm(np.asarray(q.mean), np.exp(np.asarray(q.log_scale))).logpdf(
      np.asarray(x)).sum(-1)
  chex.assert_shape(q.log_prob(x), (4,))
  np.testing.assert_allclose(q.log_prob(x), expected, rtol=1e-5)


def test_gaussian_sample_is_reparameterised():
  key = jax.random.PRNGKey(2)
  mean, log_scale = jnp.array([1.0, -2.0]), jnp.array([0.3, -0.1])
  grads = jax.grad(lambda m, s: D.DiagGaussian(m, s).sample(key).sum(), argnums=(0, 1))(
      mean, log_scale)
  eps = jax.random.normal(key, (2,))
  np.testing.assert_allclose(grads[0], np.ones(2))
  np.testing.assert_allclose(grads[1], eps * np.exp(log_scale), rtol=1e-6)


def test_bernoulli_log_prob_is_stable_and_correct():
  logits = jnp.array([[-50.0, 0.0, 3.0, 50.0]])
  x = jnp.array([[1.0, 1.0, 0.0, 0.0]])
  l = np.asarray(logits, np.float64)
  log_p, log_not_p = -np.logaddexp(0, -l), -np.logaddexp(0, l)
  expected = np.sum(np.where(np.asarray(x) == 1, log_p, log_not_p), axis=-1)
  got = D.Bernoulli(logits).log_prob(x)
  assert np.all(np.isfinite(got))
  np.testing.assert_allclose(got, expected, rtol=1e-6)


def test_categorical_log_prob_sums_to_one():
  logits = jax.random.normal(jax.random.PRNGKey(3), (5, 7))
  c = D.Categorical(logits)
  total = jax.nn.logsumexp(jnp.stack([c.log_prob(jnp.full((5,), k)) for k in range(7)]), 0)
  np.testing.assert_allclose(total, np.zeros(5), atol=1e-6)


@pytest.mark.parametrize('seed', [0, 1, 2])
def test_gaussian_kl_matches_monte_carlo(seed):
  """KL(q||p) = E_q[log q - log p]: the closed form lies within 4 standard errors."""
  kq, kp, ks = jax.random.split(jax.random.PRNGKey(seed), 3)
  q, p = _random_gaussian(kq, (6, 5)), _random_gaussian(kp, (6, 5))
  n = 200_000
  z = q.sample(ks, n)
  log_ratio = np.asarray(q.log_prob(z) - p.log_prob(z), np.float64)  # [n, 6]
  estimate, stderr = log_ratio.mean(0), log_ratio.std(0) / np.sqrt(n)
  closed = np.asarray(D.gaussian_kl(q, p))
  chex.assert_shape(closed, (6,))
  assert np.all(np.abs(closed - estimate) < 4 * stderr + 1e-6), (closed, estimate, stderr)


def test_standard_normal_kl_is_the_special_case():
  q = _random_gaussian(jax.random.PRNGKey(4), (3, 8))
  chex.assert_trees_all_close(D.standard_normal_kl(q),
                              D.gaussian_kl(q, D.standard_normal((3, 8))), rtol=1e-5)
  np.testing.assert_allclose(D.standard_normal_kl(D.standard_normal((2, 4))), np.zeros(2))
