"""Compiled train and eval steps over the device mesh."""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jax.sharding import Mesh

from genjax.training import mesh as mesh_lib
from genjax.training.update import flag_non_finite


def make_train_step(update_fn, mesh: Mesh, state_sharding=None):
  """Jits `steps_per_call` updates into one call: (state, batches) -> (state, metrics).

  `batches` carries a leading axis of steps; `lax.scan` runs one update per entry, so small
  models pay Python and dispatch overhead once per call, not once per step. The state is
  donated (updated in place) and replicated; batches are sharded on their batch axis (1).
  Metrics come back stacked per step. The step rng is fold_in(state.rng, step).
  """
  flagged = flag_non_finite(update_fn)

  def one_step(state, batch):
    return flagged(state, batch, jax.random.fold_in(state.rng, state.step))

  def run(state, batches):
    if jax.tree.leaves(batches)[0].shape[0] == 1:
      # XLA:CPU runs convolutions several times slower inside a loop body (measured 4x on
      # the conv VAE), so a single step skips the scan.
      state, metrics = one_step(state, jax.tree.map(lambda b: b[0], batches))
      return state, jax.tree.map(lambda m: m[None], metrics)
    return jax.lax.scan(one_step, state, batches)

  replicated = mesh_lib.replicated(mesh)
  return jax.jit(run,
                 in_shardings=(state_sharding or replicated, mesh_lib.batch_sharding(mesh, 1)),
                 out_shardings=(state_sharding or replicated, replicated),
                 donate_argnums=0)


def make_eval_step(eval_fn, mesh: Mesh):
  """(params, batch, rng) -> masked sums and count of eval_fn's per-example metrics."""

  def run(params, batch, rng):
    values = eval_fn(params, batch, rng)
    mask = batch['mask']
    sums = {k: jnp.sum(v * mask) for k, v in values.items()}
    return sums, jnp.sum(mask)

  replicated = mesh_lib.replicated(mesh)
  return jax.jit(run, in_shardings=(replicated, mesh_lib.batch_sharding(mesh, 0), replicated),
                 out_shardings=replicated)
