"""Gradient accumulation: k micro-batches of b give the update of one batch of k·b, and
what cannot accumulate is refused in one line."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from configs import classifier as classifier_config
from configs import gan as gan_config
from configs import vqvae as vqvae_config
from genjax.config import ConfigError
from genjax.families import classifier, gan, vqvae
from genjax.training import accumulation
from genjax.training.assemble import assemble


def _least_squares(params, batch, rng):
  del rng
  residual = batch['x'] @ params['w'] + params['b'] - batch['y']
  return jnp.mean(residual ** 2), {'abs_error': jnp.mean(jnp.abs(residual))}


def test_the_mean_over_micro_batches_is_the_whole_batchs_loss_metrics_and_gradient():
  rng = np.random.default_rng(0)
  batch = {'x': rng.standard_normal((24, 5)).astype(np.float32),
           'y': rng.standard_normal(24).astype(np.float32)}
  params = {'w': jnp.asarray(rng.standard_normal(5), jnp.float32), 'b': jnp.float32(0.3)}
  whole = jax.value_and_grad(_least_squares, has_aux=True)(params, batch, None)
  for k in (2, 3, 4):
    parts = jax.jit(accumulation.mean_value_and_grad(_least_squares, k))(
        params, batch, jax.random.PRNGKey(0))
    jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=2e-6, atol=1e-7),
                 parts, whole)


def test_micro_batch_i_is_every_kth_example_and_draws_its_own_key():
  seen = []

  def record(params, batch, rng):
    seen.append(None)
    return jnp.sum(params * 0.0), {'first': batch['i'][0].astype(jnp.float32),
                                    'key': jax.random.uniform(rng)}

  batch = {'i': jnp.arange(8)}
  (_, metrics), _ = accumulation.mean_value_and_grad(record, 4)(
      jnp.float32(1.0), batch, jax.random.PRNGKey(1))
  assert float(metrics['first']) == np.mean([0, 1, 2, 3])  # micro-batch i starts at row i
  keys = [float(jax.random.uniform(jax.random.fold_in(jax.random.PRNGKey(1), i)))
          for i in range(4)]
  np.testing.assert_allclose(float(metrics['key']), np.mean(keys), rtol=1e-6)


def _classifier_config(**fields):
  c = classifier_config.get_config('smoke')
  c.unlock()
  c.model.dropout, c.batch_size, c.steps_per_call = 0.0, 32, 1  # a loss with no randomness
  for name, value in fields.items():
    c[name] = value
  return c


def test_four_micro_batches_of_8_update_the_classifier_as_one_batch_of_32():
  states = []
  for k in (1, 4):
    a = assemble(classifier.FAMILY, _classifier_config(grad_accum_steps=k))
    state, metrics = a.train_step(a.initial_state(), a.batches(0)[0], a.frozen)
    states.append((jax.device_get(state.params), jax.device_get(metrics['loss'])))
  (params_one, loss_one), (params_four, loss_four) = states
  np.testing.assert_allclose(loss_four, loss_one, rtol=1e-5)
  jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6),
               params_four, params_one)


@pytest.mark.parametrize('family_def,get_config,what', [
    (gan.FAMILY, gan_config.get_config, 'its own update step'),
    (vqvae.FAMILY, vqvae_config.get_config, 'state it updates from each batch')])
def test_a_family_that_learns_from_batch_statistics_is_refused(family_def, get_config, what):
  c = get_config('smoke')
  c.unlock()
  c.grad_accum_steps = 2
  with pytest.raises(ConfigError, match=f"grad_accum_steps=2: the '{family_def.name}' family "
                     f'has {what}.*Set --config.grad_accum_steps=1'):
    assemble(family_def, c)


def test_a_batch_that_does_not_split_is_refused():
  with pytest.raises(ConfigError, match='batch_size=32 does not split into '
                     'grad_accum_steps=3 micro-batches'):
    assemble(classifier.FAMILY, _classifier_config(grad_accum_steps=3))
