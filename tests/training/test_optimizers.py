"""Optimisers: learning-rate warmup, and one optimiser per network."""

import chex
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from genjax.config import base_config
from genjax.training.optimizers import apply_optimizer, init_optimizer_state, make_optimizer


def _sgd_steps(warmup_steps, n):
  """The first n updates of SGD at rate 0.5 on a constant unit gradient: -rate_t each."""
  c = base_config().optimizer
  c.name, c.learning_rate, c.warmup_steps = 'sgd', 0.5, warmup_steps
  opt = make_optimizer(c)
  params = {'w': jnp.zeros(())}
  state, steps = opt.init(params), []
  for _ in range(n):
    updates, state = opt.update({'w': jnp.ones(())}, state, params)
    steps.append(-float(updates['w']))
  return np.array(steps)


def test_warmup_ramps_the_rate_linearly_from_zero_then_holds_it():
  np.testing.assert_allclose(_sgd_steps(4, 7), 0.5 * np.array([0, 1, 2, 3, 4, 4, 4]) / 4,
                             rtol=1e-6)


def test_no_warmup_is_the_constant_rate():
  np.testing.assert_allclose(_sgd_steps(0, 3), [0.5] * 3, rtol=1e-6)


def test_negative_warmup_is_refused():
  with pytest.raises(ValueError, match='warmup_steps'):
    _sgd_steps(-1, 1)


def _two_networks():
  params = {'generator': {'w': jnp.ones((3,))}, 'discriminator': {'w': jnp.ones((2,))}}
  optimizer = {'generator': optax.adam(0.1), 'discriminator': optax.sgd(0.5)}
  return params, optimizer


def test_a_dict_of_optimisers_keeps_one_state_per_network():
  params, optimizer = _two_networks()
  state = init_optimizer_state(optimizer, params)
  assert set(state) == {'generator', 'discriminator'}
  chex.assert_trees_all_equal_structs(state['generator'], optimizer['generator'].init(
      params['generator']))
  grads = jax.tree.map(jnp.ones_like, params)
  new_params, new_state = apply_optimizer(optimizer, grads, state, params)
  np.testing.assert_allclose(new_params['discriminator']['w'], 0.5)  # SGD: 1 - 0.5 * 1
  np.testing.assert_allclose(new_params['generator']['w'], 0.9, rtol=1e-5)  # Adam: lr * sign
  assert int(new_state['generator'][0].count) == 1


def test_stepping_one_network_returns_the_other_as_it_came():
  params, optimizer = _two_networks()
  state = init_optimizer_state(optimizer, params)
  grads = {'discriminator': {'w': jnp.ones((2,))}}
  new_params, new_state = apply_optimizer(optimizer, grads, state, params,
                                          only=('discriminator',))
  assert new_params['generator'] is params['generator']
  assert new_state['generator'] is state['generator']
  assert float(new_params['discriminator']['w'][0]) == 0.5


def test_mismatched_networks_are_refused():
  params, optimizer = _two_networks()
  with pytest.raises(ValueError, match='same top-level keys'):
    init_optimizer_state({'generator': optimizer['generator']}, params)
  with pytest.raises(ValueError, match="No optimiser for \\['critic'\\]"):
    apply_optimizer(optimizer, params, init_optimizer_state(optimizer, params), params,
                    only=('critic',))


def test_no_optimiser_has_an_empty_state():
  assert init_optimizer_state(None, {'w': jnp.ones(2)}) == optax.EmptyState()


@pytest.mark.parametrize('name', ['adam', 'adamw'])
def test_beta1_and_beta2_are_adams_moment_decays(name):
  c = base_config().optimizer
  c.name, c.learning_rate, c.beta1, c.beta2 = name, 0.1, 0.5, 0.95
  reference = (optax.adam(0.1, b1=0.5, b2=0.95) if name == 'adam'
               else optax.adamw(0.1, b1=0.5, b2=0.95, weight_decay=c.weight_decay))
  params, grads = {'w': jnp.ones(3)}, [{'w': jnp.asarray([1.0, -2.0, 0.5]) * k} for k in (1, 3)]

  def updates_of(opt):
    state, out = opt.init(params), []
    for g in grads:
      updates, state = opt.update(g, state, params)
      out.append(updates['w'])
    return np.stack(out)

  np.testing.assert_allclose(updates_of(make_optimizer(c)), updates_of(reference), rtol=1e-6)


def test_a_bfloat16_first_moment_halves_its_memory_and_tracks_float32():
  params = {'w': jnp.linspace(-1.0, 1.0, 64)}
  runs = {}
  for dtype in ('float32', 'bfloat16'):
    c = base_config().optimizer
    c.name, c.learning_rate, c.moment_dtype = 'adam', 0.05, dtype
    opt = make_optimizer(c)
    state, p = opt.init(params), params
    for _ in range(20):  # minimise sum(w^2): the gradient is 2w
      updates, state = opt.update(jax.tree.map(lambda w: 2 * w, p), state, p)
      p = optax.apply_updates(p, updates)
    runs[dtype] = (state[0], p['w'])
  (f32_state, f32_w), (bf16_state, bf16_w) = runs['float32'], runs['bfloat16']
  assert bf16_state.mu['w'].dtype == jnp.bfloat16 and f32_state.mu['w'].dtype == jnp.float32
  assert bf16_state.nu['w'].dtype == jnp.float32  # the second moment stays float32
  np.testing.assert_allclose(bf16_w, f32_w, atol=2e-2)
  assert float(jnp.sum(bf16_w ** 2)) < 0.5 * float(jnp.sum(params['w'] ** 2))
