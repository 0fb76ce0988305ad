"""Learning-rate warmup: the step an optimiser takes ramps linearly from 0."""

import jax.numpy as jnp
import numpy as np
import pytest

from genjax.config import base_config
from genjax.training.optimizers import make_optimizer


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
