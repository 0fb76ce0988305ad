"""Gradient accumulation: one optimiser update from k micro-batches of a batch, computed in
turn inside the compiled step, so that a paper's global batch trains on devices that hold
only a k-th of it at once.

Micro-batch i is every k-th example from the i-th (rows i, i + k, ...): where the batch is
sharded over devices, each device keeps its own rows and every micro-batch spans all the
devices. The loss, its metrics and the gradient are the means over the micro-batches,
which for a loss that is a mean over its examples (every genjax objective) is the loss,
metrics and gradient of the whole batch; micro-batch i draws its randomness from
fold_in(rng, i).

A family whose step updates state from its batch's statistics (BatchNorm statistics,
EMA codebooks, EM's sufficient statistics: `init_model_state` or an `update_fn`) would see
only a micro-batch's statistics, which is another model: such families are refused.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from genjax.config import ConfigError


def check(family_name: str, micro_batches: int, batch_size: int, devices: int,
          own_update: bool, model_state: bool) -> None:
  """One line for an accumulation this family or this batch cannot have."""
  if micro_batches == 1:
    return
  if own_update or model_state:
    what = 'its own update step' if own_update else 'state it updates from each batch'
    raise ConfigError(
        f"grad_accum_steps={micro_batches}: the '{family_name}' family has {what}, which a "
        'micro-batch would update from a part of the batch only; accumulation is for '
        'families whose loss is a mean over examples. Set --config.grad_accum_steps=1.')
  if batch_size % (micro_batches * devices):
    raise ConfigError(
        f'batch_size={batch_size} does not split into grad_accum_steps={micro_batches} '
        f'micro-batches over {devices} devices; set --config.batch_size to a multiple of '
        f'{micro_batches * devices}.')


def mean_value_and_grad(loss_fn, micro_batches: int):
  """(params, batch, rng) -> ((loss, metrics), grads) of `loss_fn` (which returns (loss,
  metrics)), averaged over `micro_batches` micro-batches computed one after another."""
  value_and_grad = jax.value_and_grad(loss_fn, has_aux=True)
  if micro_batches == 1:
    return value_and_grad

  def accumulated(params, batch, rng):
    micro = jax.tree.map(
        lambda x: jnp.swapaxes(x.reshape((x.shape[0] // micro_batches, micro_batches)
                                         + x.shape[1:]), 0, 1), batch)

    def add(total, i_and_batch):
      i, one = i_and_batch
      result = value_and_grad(params, one, jax.random.fold_in(rng, i))
      return jax.tree.map(jnp.add, total, result), None

    first = jax.tree.map(lambda x: x[0], micro)
    zeros = jax.tree.map(jnp.zeros_like,
                         jax.eval_shape(value_and_grad, params, first, rng))
    total, _ = jax.lax.scan(add, zeros, (jnp.arange(micro_batches), micro))
    return jax.tree.map(lambda x: x / micro_batches, total)

  return accumulated
