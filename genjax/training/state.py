"""The train state: one pytree that holds everything a run needs to continue."""

from __future__ import annotations

from typing import Any

import flax.struct
import jax
import jax.numpy as jnp
import optax


@flax.struct.dataclass
class TrainState:
  """step, params, optimiser state, optional EMA params and the run's base rng.

  Step rngs are `fold_in(rng, step)`, so the same seed gives the same run, resumed or not.
  Families with several networks (a GAN's generator and discriminator) keep them as
  entries of one `params` dict and one `opt_state` dict.
  """
  step: jax.Array
  params: Any
  opt_state: Any
  ema_params: Any
  rng: jax.Array


def create_train_state(params, optimizer: optax.GradientTransformation | None,
                       rng: jax.Array, ema: bool) -> TrainState:
  return TrainState(
      step=jnp.zeros((), jnp.int32),
      params=params,
      opt_state=optimizer.init(params) if optimizer is not None else optax.EmptyState(),
      ema_params=jax.tree.map(jnp.copy, params) if ema else None,
      rng=rng,
  )


def eval_params(state: TrainState):
  """EMA weights when the run keeps them, as sampling and evaluation should use."""
  return state.ema_params if state.ema_params is not None else state.params
