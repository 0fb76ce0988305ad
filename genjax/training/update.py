"""The default update: differentiate the family's loss, apply the optimiser, track EMA."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import optax

from genjax.training.family import LossFn
from genjax.training.state import TrainState


def gradient_update(loss_fn: LossFn, optimizer: optax.GradientTransformation,
                    ema_decay: float = 0.0):
  """Returns update(state, batch, rng) -> (state, metrics) for a differentiable loss."""

  def update(state: TrainState, batch, rng):
    (loss, aux), grads = jax.value_and_grad(loss_fn, has_aux=True)(state.params, batch, rng)
    updates, opt_state = optimizer.update(grads, state.opt_state, state.params)
    params = optax.apply_updates(state.params, updates)
    ema = state.ema_params
    if ema is not None:
      ema = jax.tree.map(lambda e, p: ema_decay * e + (1 - ema_decay) * p, ema, params)
    metrics = {'loss': loss, 'grad_norm': optax.tree.norm(grads), **aux}
    return state.replace(params=params, opt_state=opt_state, ema_params=ema), metrics

  return update


def flag_non_finite(update):
  """Wraps an update to count the step and report whether its loss was finite.

  The loop fetches the flag before every checkpoint save and stops on a non-finite loss,
  so no checkpoint ever holds a state that a non-finite loss produced. (Masking the update
  on device instead would copy every state leaf each step, ~7% of a small model's step.)
  """

  def flagged(state, batch, rng):
    new_state, metrics = update(state, batch, rng)
    finite = jnp.isfinite(metrics['loss'])
    return new_state.replace(step=state.step + 1), {**metrics, 'finite': finite}

  return flagged
