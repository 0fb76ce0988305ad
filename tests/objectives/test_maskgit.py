"""MaskGIT's objective: the mask schedule, the random masks it draws, and a loss that counts
the masked positions only."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from genjax.objectives import maskgit


@pytest.mark.parametrize('schedule', maskgit.SCHEDULES)
def test_the_mask_schedule_falls_from_all_to_none(schedule):
  r = np.linspace(0.0, 1.0, 101)
  gamma = maskgit.mask_ratio(r, schedule)
  assert gamma[0] == 1.0 and abs(gamma[-1]) < 1e-12
  assert np.all(np.diff(gamma) < 0)  # strictly decreasing
  np.testing.assert_allclose(np.asarray(maskgit.mask_ratio(jnp.asarray(r), schedule)), gamma,
                             atol=1e-6)  # the JAX form is the NumPy one
  if schedule == 'cosine':
    np.testing.assert_allclose(gamma, np.cos(np.pi * r / 2))


def test_masks_hide_ceil_gamma_r_n_uniformly_chosen_positions():
  rng, b, n = jax.random.PRNGKey(0), 4000, 16
  draw = jax.jit(lambda rng: (maskgit.random_mask(rng, b, n, 'cosine'),
                              jax.random.uniform(jax.random.split(rng)[0], (b,))))
  mask, r = map(np.asarray, draw(rng))  # r: the function's own draw
  want = np.clip(np.ceil(np.cos(np.pi * r / 2) * n), 1, n)
  np.testing.assert_array_equal(mask.sum(axis=1), want)
  # Every position equally likely: its masked frequency is E[count] / N, within 4 sigma.
  freq = mask.mean(axis=0)
  p = want.mean() / n
  assert np.all(np.abs(freq - p) < 4 * math.sqrt(p * (1 - p) / b)), freq
  # E[ceil(N cos(pi r / 2))] / N: 2 / pi plus about 1 / (2N) for the rounding up.
  assert abs(p - (2 / np.pi + 0.5 / n)) < 0.02


def test_the_loss_is_the_cross_entropy_at_masked_positions_only():
  b, n, k = 8, 12, 5
  codes = jax.random.randint(jax.random.PRNGKey(1), (b, n), 0, k)
  base = jax.random.normal(jax.random.PRNGKey(2), (b, n, k))
  noise = 10 * jax.random.normal(jax.random.PRNGKey(3), (b, n, k))
  rng = jax.random.PRNGKey(4)
  mask = np.asarray(maskgit.random_mask(jax.random.split(rng)[0], b, n))  # the loss's own

  @jax.jit
  def loss(smoothing, perturb):
    def logits_fn(tokens, y):  # with perturb, other logits wherever the code is given
      del y
      return base + perturb * jnp.where((tokens == k)[..., None], 0.0, noise)
    value, metrics = maskgit.maskgit_loss(logits_fn, codes, None, rng, mask_token=k,
                                          label_smoothing=smoothing)
    grad = jax.grad(lambda l: jnp.sum(maskgit.masked_cross_entropy(l, codes, mask,
                                                                   smoothing)))(base)
    return value, metrics, grad

  assert 0 < mask.sum() < mask.size
  logp = np.asarray(jax.nn.log_softmax(base))
  nll = -np.take_along_axis(logp, np.asarray(codes)[..., None], -1)[..., 0]
  for smoothing in (0.0, 0.1):
    value, metrics, grad = loss(smoothing, 0.0)
    smoothed = (1 - smoothing) * nll - smoothing * logp.mean(-1)
    np.testing.assert_allclose(value, smoothed[mask].mean(), rtol=1e-5)
    np.testing.assert_allclose(metrics['masked_nll'], nll[mask].mean(), rtol=1e-5)
    np.testing.assert_allclose(loss(smoothing, 1.0)[0], value, rtol=1e-6)
    # Its gradient reaches the masked positions' logits only.
    assert np.all(np.asarray(grad)[~mask] == 0) and np.all(
        np.abs(np.asarray(grad)[mask]).sum(-1) > 0)


def test_labels_are_dropped_to_the_null_class_at_the_given_rate():
  labels = jnp.arange(20000) % 10
  dropped = np.asarray(maskgit.drop_labels(jax.random.PRNGKey(0), labels, 0.1, null_class=10))
  kept = dropped != 10
  np.testing.assert_array_equal(dropped[kept], np.asarray(labels)[kept])
  assert abs((~kept).mean() - 0.1) < 4 * math.sqrt(0.09 / 20000)
