"""Row-sparse SGD is dense SGD on the summed loss, touching only the rows a batch reads."""

import jax
import jax.numpy as jnp
import numpy as np

from genjax.training import sparse_sgd


def _loss(rows):
  # Any smooth function of the gathered rows, reading some rows several times.
  return jnp.sum(jnp.tanh(rows['a']) * rows['b'][:, :1].sum(1, keepdims=True)) + jnp.sum(
      rows['b'] ** 2), {}


def test_sparse_step_equals_dense_sgd_and_leaves_other_rows_bitwise():
  rng = np.random.default_rng(0)
  tables = {'a': jnp.asarray(rng.normal(size=(9, 3)), jnp.float32),
            'b': jnp.asarray(rng.normal(size=(9, 3)), jnp.float32),
            'untouched': jnp.ones((2, 2))}
  ids = {'a': jnp.asarray([1, 4, 1, 1]), 'b': jnp.asarray([[2, 2], [0, 4], [2, 7], [8, 2]])}
  new, loss, _ = sparse_sgd.sparse_sgd_step(tables, ids, _loss, 0.1)

  def dense_loss(t):
    return _loss(sparse_sgd.gather_rows(t, ids))[0]

  grads = jax.grad(dense_loss)({'a': tables['a'], 'b': tables['b']})
  for name in ('a', 'b'):
    np.testing.assert_allclose(new[name], tables[name] - 0.1 * grads[name], rtol=1e-6,
                               atol=1e-7)
    read = np.unique(np.asarray(ids[name]))
    other = np.setdiff1d(np.arange(9), read)
    np.testing.assert_array_equal(np.asarray(new[name])[other], np.asarray(tables[name])[other])
    assert not np.allclose(np.asarray(new[name])[read], np.asarray(tables[name])[read])
  assert new['untouched'] is tables['untouched']
  np.testing.assert_allclose(loss, dense_loss(tables), rtol=1e-6)


def test_a_table_read_whole_gets_the_dense_update():
  rng = np.random.default_rng(1)
  tables = {'a': jnp.asarray(rng.normal(size=(5, 2))), 'b': jnp.asarray(rng.normal(size=(5, 2)))}
  loss = lambda rows: (jnp.sum(rows['a'] @ rows['b'].T), {})
  new, _, _ = sparse_sgd.sparse_sgd_step(tables, {'a': jnp.asarray([0, 3]), 'b': None}, loss,
                                         0.5)
  expected_b = tables['b'] - 0.5 * jnp.broadcast_to(tables['a'][jnp.asarray([0, 3])].sum(0), (5, 2))
  np.testing.assert_allclose(new['b'], expected_b, rtol=1e-6)


def test_linear_decay_is_word2vecs_rate():
  rates = [float(sparse_sgd.linear_decay(s, 100, 0.025, 1e-4)) for s in (0, 50, 100, 200)]
  np.testing.assert_allclose(rates, [0.025, 0.0125, 0.025e-4, 0.025e-4], rtol=1e-5)
