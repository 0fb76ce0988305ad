"""Compiled train and eval steps over the device mesh."""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jax.sharding import Mesh

from genjax.training import mesh as mesh_lib
from genjax.training import utilization
from genjax.training.family import StepContext
from genjax.training.update import flag_non_finite


def default_unroll(steps: int) -> int:
  """How many of `steps` fused steps the scan unrolls when the config leaves it to us.

  XLA:CPU compiles a loop body without its fast kernels, so convolutions run several
  times slower inside a loop than outside it (benchmarks/conv_formulations.py and
  benchmarks/step_levers.py measure it; docs/results/performance.md has the numbers). So on
  CPU up to 10 fused steps are unrolled whole (scan's 0: no loop at all; a scan of one
  step with unroll 1 stays a loop); beyond that, unrolling more costs the small models
  throughput, so 10 at a time.
  """
  if jax.default_backend() != 'cpu':
    return 1
  return 0 if steps <= 10 else 10


def make_train_step(update_fn, mesh: Mesh, state_sharding=None, unroll: int = 0):
  """Jits `steps_per_call` updates into one call: (state, batches[, frozen]) -> (state,
  metrics).

  `batches` carries a leading axis of steps; `lax.scan` runs one update per entry, so small
  models pay Python and dispatch overhead once per call, not once per step. The state is
  donated (updated in place); batches are sharded on their batch axis (1).
  `frozen` (another run's params, or None) is a replicated argument, so new values reuse
  the compiled step. Metrics come back stacked per step, with `state_finite` for the state
  the call ends in. The step rng is fold_in(state.rng, step). `state_sharding` lays the
  state out over the mesh (`genjax.training.sharding_rules`); by default it is replicated.

  `unroll`: how many fused steps the scan unrolls; 0 leaves it to `default_unroll`. One
  (a loop) compiles a single step's body whatever steps_per_call is, which keeps a large
  step's compile time down (the U-Net's, with its convolutions as matmuls).
  """
  flagged = flag_non_finite(update_fn)

  def run(state, batches, frozen):
    def one_step(state, batch):
      return flagged(state, batch, jax.random.fold_in(state.rng, state.step), frozen)

    steps = jax.tree.leaves(batches)[0].shape[0]
    state, metrics = jax.lax.scan(one_step, state, batches,
                                  unroll=unroll or default_unroll(steps))
    # Once per call, fused: the loop saves only states whose every value is finite.
    return state, {**metrics, 'state_finite': all_finite(
        (state.params, state.ema_params, state.model_state))}

  replicated = mesh_lib.replicated(mesh)
  compiled = jax.jit(
      run, in_shardings=(state_sharding or replicated, mesh_lib.batch_sharding(mesh, 1),
                         replicated),
      out_shardings=(state_sharding or replicated, replicated), donate_argnums=0)
  return _TrainStep(compiled, mesh)


class _TrainStep:
  """The jitted step with `frozen` optional, for families that read no other run.

  It is traced under its mesh (`jax.set_mesh`), so an update may constrain shardings by
  PartitionSpec (`mesh_lib.replicate_in_step`)."""

  def __init__(self, jitted, mesh: Mesh):
    self._jitted, self._mesh = jitted, mesh

  def __call__(self, state, batches, frozen=None):
    with jax.set_mesh(self._mesh):
      return self._jitted(state, batches, frozen)

  def flops_per_call(self, state, batches, frozen=None) -> float | None:
    """One call's FLOPs on one device, from the compiled program (which a call already
    compiled, so this costs no compilation); None where the backend gives no count."""
    return utilization.compiled_flops(self.lower(state, batches, frozen).compile())

  def lower(self, state, batches, frozen=None):
    """Ahead-of-time lowering (the benchmarks time compilation); call the result with all
    three arguments."""
    with jax.set_mesh(self._mesh):
      return self._jitted.lower(state, batches, frozen)


def all_finite(tree) -> jax.Array:
  """True when every floating-point value in `tree` is finite."""
  leaves = [jnp.all(jnp.isfinite(x)) for x in jax.tree.leaves(tree)
            if jnp.issubdtype(jnp.asarray(x).dtype, jnp.inexact)]
  return jnp.all(jnp.stack(leaves)) if leaves else jnp.bool_(True)


def make_eval_step(eval_fn, mesh: Mesh):
  """(params, model_state, batch, rng, frozen) -> masked sums and count of eval_fn's
  per-example metrics."""

  def run(params, model_state, batch, rng, frozen):
    values = eval_fn(params, batch, rng, StepContext(model_state=model_state, frozen=frozen))
    mask = batch['mask']
    # A metric may be a vector per example ([B, K] code counts): summed over examples only.
    sums = {k: jnp.sum(v * mask.reshape(mask.shape + (1,) * (v.ndim - 1)), axis=0)
            for k, v in values.items()}
    return sums, jnp.sum(mask)

  replicated = mesh_lib.replicated(mesh)
  # Params and model state stay laid out as the train state holds them (split over fsdp).
  return jax.jit(run, in_shardings=(None, None, mesh_lib.batch_sharding(mesh, 0),
                                    replicated, replicated),
                 out_shardings=replicated)
