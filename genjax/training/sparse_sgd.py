"""SGD on the rows of embedding tables that a batch touches, as word2vec updates them.

word2vec.c updates each pair's rows in place with rate alpha. Batched, that is SGD on the
*sum* of the batch's per-pair losses: the gradient of loss(T[ids]) with respect to the
table T is the row gradients scatter-added at ids (rows a batch repeats get the sum), so
`T.at[ids].add(-lr * row_grads)` is exactly dense SGD, `T - lr * grad`, while touching
only B rows of a table of V. Under `jit` with the state donated the add is in place.
"""

from __future__ import annotations

from typing import Callable, Mapping

import jax
import jax.numpy as jnp

Tables = Mapping[str, jax.Array]


def gather_rows(tables: Tables, ids: Mapping[str, jax.Array | None]) -> dict[str, jax.Array]:
  """tables[name][ids[name]] for each name; ids None takes the whole table."""
  return {name: tables[name] if i is None else
          tables[name].at[i].get(mode='promise_in_bounds') for name, i in ids.items()}


def sparse_sgd_step(tables: Tables, ids: Mapping[str, jax.Array | None],
                    loss_of_rows: Callable[[dict[str, jax.Array]], tuple[jax.Array, dict]],
                    learning_rate: jax.Array | float) -> tuple[dict, jax.Array, dict]:
  """One SGD step on `loss_of_rows(gather_rows(tables, ids))`, updating only those rows.

  Args:
    tables: name -> [V, d] table.
    ids: name -> int ids of any shape, the rows the loss reads (repeats allowed), or None
      for a table the loss reads whole (its update is then dense).
    loss_of_rows: rows -> (the scalar loss to descend, aux).
    learning_rate: the step size.

  Returns:
    (new tables, loss, aux). Tables not in `ids` are returned as they came.
  """
  rows = gather_rows(tables, ids)
  (loss, aux), grads = jax.value_and_grad(loss_of_rows, has_aux=True)(rows)
  return apply_row_grads(tables, ids, grads, learning_rate), loss, aux


def apply_row_grads(tables: Tables, ids: Mapping[str, jax.Array | None],
                    grads: Mapping[str, jax.Array], learning_rate: jax.Array | float) -> dict:
  """tables[name] with -learning_rate * grads[name] added at ids[name] (the whole table for
  ids None); grads[name] has the shape of the rows gathered at ids[name]. For an objective
  whose row gradients are known in closed form (word2vec's), skipping autodiff."""
  new = dict(tables)
  for name, i in ids.items():
    step = -learning_rate * grads[name]
    if i is None:
      new[name] = tables[name] + step
    else:
      width = tables[name].shape[-1]
      # Ids come from the data stream, which draws them in 0..V-1.
      new[name] = tables[name].at[i.reshape(-1)].add(step.reshape(-1, width),
                                                     mode='promise_in_bounds')
  return new


def linear_decay(step: jax.Array, total_steps: int, start: float,
                 final_fraction: float) -> jax.Array:
  """word2vec's rate: start * (1 - step / total), never below start * final_fraction
  (word2vec.c: alpha = starting_alpha * (1 - progress), floored at starting_alpha * 1e-4)."""
  progress = jnp.asarray(step, jnp.float32) / max(total_steps, 1)
  return start * jnp.maximum(1.0 - progress, final_fraction)
