"""The default update: differentiate the family's loss, apply the optimiser, track EMA."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import optax

from genjax.training import accumulation
from genjax.training.family import LossFn, StepContext, split_loss_aux
from genjax.training.optimizers import apply_optimizer
from genjax.training.state import TrainState


def ema_update(ema, params, decay: float):
  """decay * ema + (1 - decay) * params, leaf by leaf; None when the run keeps no EMA."""
  if ema is None:
    return None
  return jax.tree.map(lambda e, p: decay * e + (1 - decay) * p, ema, params)


def gradient_update(loss_fn: LossFn, optimizer, ema_decay: float = 0.0,
                    micro_batches: int = 1):
  """update(state, batch, rng, frozen) -> (state, metrics) for a differentiable loss.

  The gradient is taken with respect to `state.params` alone: model state and frozen
  upstream params enter the loss as values, and the loss returns the new model state.
  With `micro_batches` > 1 the gradient is accumulated over that many micro-batches of the
  batch before the one update (`genjax.training.accumulation`).
  """

  def update(state: TrainState, batch, rng, frozen=None):
    context = StepContext(model_state=state.model_state, frozen=frozen)
    (loss, aux), grads = accumulation.mean_value_and_grad(
        lambda params, batch, rng: loss_fn(params, batch, rng, context),
        micro_batches)(state.params, batch, rng)
    aux, model_state = split_loss_aux(aux, state.model_state)
    params, opt_state = apply_optimizer(optimizer, grads, state.opt_state, state.params)
    metrics = {'loss': loss, 'grad_norm': optax.tree.norm(grads), **aux}
    return state.replace(params=params, opt_state=opt_state, model_state=model_state,
                         ema_params=ema_update(state.ema_params, params, ema_decay)), metrics

  return update


def flag_non_finite(update):
  """Wraps an update to count the step and report whether its loss was finite.

  The loop fetches the flag before every checkpoint save and stops on a non-finite loss,
  so no checkpoint ever holds a state that a non-finite loss produced. (Masking the update
  on device instead would copy every state leaf each step, ~7% of a small model's step.)
  """

  def flagged(state, batch, rng, frozen):
    new_state, metrics = update(state, batch, rng, frozen)
    finite = jnp.isfinite(metrics['loss'])
    return new_state.replace(step=state.step + 1), {**metrics, 'finite': finite}

  return flagged
