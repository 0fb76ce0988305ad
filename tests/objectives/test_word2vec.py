"""Skip-gram objectives as math: the negative-sampling gradient against finite differences,
skipped negatives, and the full softmax as a distribution."""

import jax
import jax.numpy as jnp
import numpy as np

from genjax.objectives import word2vec as objectives


def _tables_and_batch(seed=0, v=7, d=4, b=5, k=3):
  rng = np.random.default_rng(seed)
  tables = {'center': rng.normal(size=(v, d)), 'context': rng.normal(size=(v, d))}
  batch = {'center': rng.integers(0, v, b), 'context': rng.integers(0, v, b),
           'negatives': rng.integers(0, v, (b, k))}
  batch['negatives'][0, 1] = batch['context'][0]  # one negative equals its context word
  return tables, batch


def _sgns_total(tables, batch):
  mask = objectives.negative_mask(batch['context'], batch['negatives'])
  return jnp.sum(objectives.negative_sampling_loss(
      tables['center'][batch['center']], tables['context'][batch['context']],
      tables['context'][batch['negatives']], mask))


def test_negative_sampling_gradient_matches_finite_differences():
  with jax.enable_x64(True):
    tables, batch = _tables_and_batch()
    tables = jax.tree.map(jnp.asarray, tables)
    grads = jax.grad(_sgns_total)(tables, batch)
    total = jax.jit(_sgns_total)
    eps = 1e-6
    for name in tables:
      numeric = np.zeros(tables[name].shape)
      for idx in np.ndindex(*tables[name].shape):
        up = {**tables, name: tables[name].at[idx].add(eps)}
        down = {**tables, name: tables[name].at[idx].add(-eps)}
        numeric[idx] = (total(up, batch) - total(down, batch)) / (2 * eps)
      np.testing.assert_allclose(grads[name], numeric, rtol=1e-6, atol=1e-8)
      assert np.abs(numeric).max() > 0.1  # the check is not of zeros


def test_negative_sampling_is_the_papers_formula_with_matching_negatives_skipped():
  tables, batch = _tables_and_batch(seed=1)
  w, c = tables['center'], tables['context']
  expected = []
  for i in range(len(batch['center'])):
    center = w[batch['center'][i]]
    loss = -np.log(1 / (1 + np.exp(-center @ c[batch['context'][i]])))
    for n in batch['negatives'][i]:
      if n != batch['context'][i]:  # word2vec.c skips a negative equal to the target
        loss -= np.log(1 / (1 + np.exp(center @ c[n])))
    expected.append(loss)
  mask = objectives.negative_mask(jnp.asarray(batch['context']), jnp.asarray(batch['negatives']))
  assert float(mask[0, 1]) == 0.0 and float(mask.sum()) >= mask.size - 3
  got = objectives.negative_sampling_loss(
      jnp.asarray(w[batch['center']]), jnp.asarray(c[batch['context']]),
      jnp.asarray(c[batch['negatives']]), mask)
  np.testing.assert_allclose(got, expected, rtol=1e-5)


def test_full_softmax_is_a_distribution_and_its_nll_is_minus_its_log():
  tables, batch = _tables_and_batch(seed=2, v=11)
  center = jnp.asarray(tables['center'][batch['center']], jnp.float32)
  table = jnp.asarray(tables['context'], jnp.float32)
  probs = objectives.softmax_probabilities(center, table)
  np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-6)
  assert np.all(probs > 0)
  nll = objectives.softmax_nll(center, table, jnp.asarray(batch['context']))
  np.testing.assert_allclose(
      nll, -np.log(np.asarray(probs)[np.arange(len(nll)), batch['context']]), rtol=1e-5)
  # With every context vector equal, p(c | w) is uniform: log V nats.
  flat = objectives.softmax_nll(center, jnp.ones_like(table), jnp.asarray(batch['context']))
  np.testing.assert_allclose(flat, np.log(11), rtol=1e-6)
  # ... and with a prior added to the logits, p(c | w) is the prior.
  prior = np.random.default_rng(3).dirichlet(np.ones(11))
  tilted = objectives.softmax_nll(center, jnp.ones_like(table), jnp.asarray(batch['context']),
                                  log_prior=jnp.log(jnp.asarray(prior, jnp.float32)))
  np.testing.assert_allclose(tilted, -np.log(prior[batch['context']]), rtol=1e-5)


def test_closed_form_row_gradients_are_autodiffs():
  tables, batch = _tables_and_batch(seed=4, b=9, k=4)
  w = jnp.asarray(tables['center'][batch['center']], jnp.float32)
  c = jnp.asarray(tables['context'][batch['context']], jnp.float32)
  n = jnp.asarray(tables['context'][batch['negatives']], jnp.float32)
  mask = objectives.negative_mask(jnp.asarray(batch['context']), jnp.asarray(batch['negatives']))
  loss, d_center, d_rows = objectives.negative_sampling_row_grads(w, c, n, mask)
  total = lambda w, c, n: jnp.sum(objectives.negative_sampling_loss(w, c, n, mask))
  np.testing.assert_allclose(loss, total(w, c, n), rtol=1e-5)
  gw, gc, gn = jax.grad(total, argnums=(0, 1, 2))(w, c, n)
  np.testing.assert_allclose(d_center, gw, rtol=1e-5, atol=1e-6)
  np.testing.assert_allclose(d_rows[:, 0], gc, rtol=1e-5, atol=1e-6)
  np.testing.assert_allclose(d_rows[:, 1:], gn, rtol=1e-5, atol=1e-6)
  assert float(jnp.abs(d_rows[0, 2]).max()) == 0.0  # the skipped negative gets nothing
