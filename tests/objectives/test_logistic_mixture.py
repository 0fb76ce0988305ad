"""The discretised logistic mixture over whole pixels (Salimans et al., 2017): it sums to one
over all 256^C pixels, matches a float64 NumPy/SciPy transcription of the paper's formula,
and its sampler draws with its probabilities."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy.special import expit, logsumexp

from genjax.models import pixels
from genjax.objectives import logistic_mixture as lm
from genjax.samplers import logistic_mixture as lm_sampler

LEVELS = np.arange(256)


def random_params(seed, channels, num_mixtures, batch=()):
  """Mixture outputs with means spread past [-1, 1], log-scales from below the floor (-7)
  to broad, and coefficients of either sign."""
  rng = np.random.default_rng(seed)

  def mix(*shape):
    return rng.standard_normal(batch + shape).astype(np.float32)

  means = 1.2 * mix(channels, num_mixtures)
  log_scales = rng.uniform(-8.0, 1.0, batch + (channels, num_mixtures)).astype(np.float32)
  pairs = channels * (channels - 1) // 2
  rest = np.concatenate([means, log_scales, 2 * mix(pairs, num_mixtures)], axis=-2)
  return np.concatenate([2 * mix(num_mixtures), rest.reshape(batch + (-1,))], axis=-1)


def bin_probs(centre, mean, log_scale):
  """P(bin of centre) under Logistic(mean, e^log_scale), float64, the paper's edge bins."""
  inv = np.exp(-np.maximum(log_scale, -7.0))
  upper = np.where(centre > 0.999, 1.0, expit((centre - mean + 1 / 255) * inv))
  lower = np.where(centre < -0.999, 0.0, expit((centre - mean - 1 / 255) * inv))
  return upper - lower


def numpy_log_prob(params, levels):
  """log P(pixel) for one parameter vector and integer pixels [N, C], by the formula."""
  params = np.asarray(params, np.float64)
  channels = levels.shape[-1]
  m = params.shape[-1] // pixels.mixture_params(channels, 1)
  rest = params[m:].reshape(-1, m)
  means, log_scales, coeffs = rest[:channels], rest[channels:2 * channels], np.tanh(
      rest[2 * channels:])
  x = 2 * levels / 255 - 1  # [N, C]
  total = (params[:m] - logsumexp(params[:m]))[None]  # [1, M]
  for j in range(channels):
    mean = means[j][None] + sum(coeffs[j * (j - 1) // 2 + i][None] * x[:, i, None]
                                for i in range(j))
    with np.errstate(divide='ignore'):  # bins below float64's reach: log 0, then exp 0
      total = total + np.log(bin_probs(x[:, j, None], mean, log_scales[j][None]))
  return logsumexp(total, axis=-1)


log_prob = jax.jit(lm.log_prob)


@pytest.mark.parametrize('seed', range(4))
def test_grayscale_mixture_sums_to_one_over_all_256_values(seed):
  params = random_params(seed, 1, 5)
  values = jnp.asarray(LEVELS[:, None] / 255.0, jnp.float32)
  lp = np.asarray(log_prob(jnp.broadcast_to(params, (256, params.size)), values), np.float64)
  assert np.all(np.isfinite(lp))
  np.testing.assert_allclose(np.exp(lp).sum(), 1.0, atol=1e-5)


def test_colour_mixture_marginals_by_exhaustion():
  """For random (R, G): sum over all 256 B of P(R, G, B) is P(R, G) = sum_m pi_m P_m(R)
  P_m(G | R) (each component's B bins sum to one); for random R, summing that over G
  gives P(R); and the 256 P(R) sum to one. Together: the 256^3 pixels sum to one."""
  params = random_params(7, 3, 4)
  m = 4
  rest = params[m:].reshape(-1, m).astype(np.float64)
  w = np.exp(params[:m] - logsumexp(params[:m]))
  x = 2 * LEVELS / 255 - 1
  p_r = bin_probs(x[:, None], rest[0][None], rest[3][None])  # [256 R, M]
  coeff_gr = np.tanh(rest[6])
  p_g_given_r = bin_probs(x[None, :, None], rest[1][None, None] + coeff_gr * x[:, None, None],
                          rest[4][None, None])  # [256 R, 256 G, M]
  p_rg = np.einsum('m,rm,rgm->rg', w, p_r, p_g_given_r)
  np.testing.assert_allclose(p_rg.sum(), 1.0, atol=1e-9)  # the float64 reference itself

  def joint_over_b(r, g):
    pix = np.stack([np.full(256, r), np.full(256, g), LEVELS], -1) / 255.0
    lp = log_prob(jnp.broadcast_to(params, (256, params.size)), jnp.asarray(pix, jnp.float32))
    return np.exp(np.asarray(lp, np.float64)).sum()

  rng = np.random.default_rng(0)
  for r, g in list(zip(rng.integers(0, 256, 6), rng.integers(0, 256, 6))) + [(0, 255)]:
    np.testing.assert_allclose(joint_over_b(r, g), p_rg[r, g], rtol=2e-4, atol=1e-12)
  r = int(rng.integers(0, 256))
  rg = np.stack(np.meshgrid(np.full(1, r), LEVELS, LEVELS, indexing='ij'), -1).reshape(-1, 3)
  lp = log_prob(jnp.broadcast_to(params, (len(rg), params.size)),
                jnp.asarray(rg / 255.0, jnp.float32))
  np.testing.assert_allclose(np.exp(np.asarray(lp, np.float64)).sum(), p_rg[r].sum(),
                             rtol=2e-4)


@pytest.mark.parametrize('channels', [1, 3])
def test_log_prob_matches_the_formula_in_float64(channels):
  """Random pixels and the edge values 0 and 255, against the NumPy transcription."""
  params = random_params(3, channels, 10)
  rng = np.random.default_rng(1)
  levels = np.concatenate([rng.integers(0, 256, (200, channels)),
                           np.array([[0] * channels, [255] * channels])])
  expected = numpy_log_prob(params, levels)
  got = log_prob(jnp.broadcast_to(params, (len(levels), params.size)),
                 jnp.asarray(levels / 255.0, jnp.float32))
  np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-4)


def test_log_prob_is_finite_with_finite_gradients_at_extremes():
  """A sharp component far from the pixel: log P is very negative but finite, and so is
  its gradient (no log of a cancelled difference)."""
  params = random_params(5, 3, 2)
  params[2:] = 0.0
  params[2:8] = 40.0  # means far above every bin
  params[8:14] = -7.0  # the narrowest scale
  x = jnp.array([[0.0, 128 / 255, 1.0]])
  value, grad = jax.value_and_grad(lambda p: log_prob(p[None], x)[0])(jnp.asarray(params))
  assert np.isfinite(value) and value < -100
  assert np.all(np.isfinite(grad))


def test_sampler_draws_with_the_mixture_probabilities():
  """20000 draws: each colour's empirical CDF is within 0.02 of its exact marginal (from
  the float64 formula), and every draw is an 8-bit level k/255."""
  params = random_params(11, 3, 3)
  params[3:12] = 0.4 * params[3:12]  # means inside [-1, 1], so the draws span many levels
  params[12:21] = np.linspace(-3.5, -1.5, 9)  # moderate scales
  n = 20000
  draws = jax.jit(lm_sampler.sample, static_argnums=2)(
      jax.random.PRNGKey(0), jnp.broadcast_to(params, (n, params.size)), 3)
  levels = np.round(np.asarray(draws) * 255).astype(int)
  np.testing.assert_allclose(draws, levels / 255, atol=1e-7)  # k/255, up to float32
  # The exact marginals, summing the joint over the other colours' levels.
  grid = np.stack(np.meshgrid(LEVELS, LEVELS, indexing='ij'), -1).reshape(-1, 2)
  marginals = np.zeros((3, 256))
  for b in range(256):
    pix = np.concatenate([grid, np.full((len(grid), 1), b)], axis=1)
    p = np.exp(numpy_log_prob(params, pix)).reshape(256, 256)
    marginals[0] += p.sum(1)
    marginals[1] += p.sum(0)
    marginals[2, b] = p.sum()
  np.testing.assert_allclose(marginals.sum(1), 1.0, atol=1e-6)
  for j in range(3):
    empirical = np.cumsum(np.bincount(levels[:, j], minlength=256)) / n
    assert np.abs(empirical - np.cumsum(marginals[j])).max() < 0.02, j
