"""The train state: one pytree that holds everything a run needs to continue."""

from __future__ import annotations

from typing import Any

import flax.struct
import jax
import jax.numpy as jnp

from genjax.training.optimizers import init_optimizer_state


@flax.struct.dataclass
class TrainState:
  """step, params, optimiser state, EMA params, model state and the run's base rng.

  Step rngs are `fold_in(rng, step)`, so the same seed gives the same run, resumed or not.
  Families with several networks (a GAN's generator and discriminator) keep them as
  entries of one `params` dict, and with a dict of optimisers `opt_state` holds one state
  per network. `model_state` is what is not a gradient parameter (BatchNorm statistics,
  codebook counts, EM sufficient statistics); None when the family keeps none.
  """
  step: jax.Array
  params: Any
  opt_state: Any
  ema_params: Any
  rng: jax.Array
  model_state: Any = None


def create_train_state(params, optimizer, rng: jax.Array, ema: bool,
                       model_state: Any = None) -> TrainState:
  return TrainState(
      step=jnp.zeros((), jnp.int32),
      params=params,
      opt_state=init_optimizer_state(optimizer, params),
      ema_params=jax.tree.map(jnp.copy, params) if ema else None,
      rng=rng,
      model_state=model_state,
  )


def eval_params(state: TrainState):
  """EMA weights when the run keeps them, as sampling and evaluation should use."""
  return state.ema_params if state.ema_params is not None else state.params
