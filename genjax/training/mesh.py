"""Data parallelism, and parameters sharded over devices, on JAX's own engine: a (data,
fsdp) device mesh, the batch split over all of it, the train state over `fsdp`.

The same code runs on one CPU, one GPU, a multi-GPU host or a multi-host TPU pod: after
`initialize_distributed`, `jax.devices()` spans every host, and each host contributes only
its own rows of a global batch through `jax.make_array_from_process_local_data`.
"""

from __future__ import annotations

import os
import sys
import threading

import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec as P

from genjax.config import ConfigError

DATA_AXIS = 'data'
FSDP_AXIS = 'fsdp'


def initialize_distributed(coordinator_address: str, num_processes: int, process_id: int,
                           join_timeout_seconds: int = 300) -> None:
  """Joins a multi-host run; a no-op for a single process.

  `num_processes=0` lets JAX find the cluster (a TPU pod slice, SLURM, Open MPI) and
  this process's place in it; the other arguments are then ignored.

  A process that has not joined every other one after `join_timeout_seconds` exits with
  status 2 and one line that says so. JAX's own timeout aborts the process from C++ with a
  stack dump, past the reach of Python's handlers; a watchdog that fires first says what
  happened and what to do instead.
  """
  if num_processes == 1:
    return
  # CPU hosts exchange collectives through gloo; the setting is inert on GPU and TPU. It
  # must not query the backend here, which would start it before `initialize`.
  jax.config.update('jax_cpu_collectives_implementation', 'gloo')
  detect = num_processes == 0
  where = 'the coordinator the cluster names' if detect else coordinator_address
  who = 'this process' if detect else f'process {process_id} of {num_processes}'
  watchdog = threading.Timer(join_timeout_seconds, _give_up_joining, args=(
      f'error: {who} waited {join_timeout_seconds} s '
      f'for the run\'s other processes at {where}, and not all of them joined. Start every '
      'process with the same --coordinator_address and --num_processes (each with its own '
      '--process_id), or raise --join_timeout_seconds.',))
  watchdog.daemon = True
  watchdog.start()
  try:
    jax.distributed.initialize(
        **({} if detect else dict(coordinator_address=coordinator_address,
                                  num_processes=num_processes, process_id=process_id)),
        initialization_timeout=join_timeout_seconds + 60)
  finally:
    watchdog.cancel()


def _give_up_joining(message: str) -> None:
  print(message, file=sys.stderr, flush=True)
  os._exit(2)  # pylint: disable=protected-access


def make_mesh(devices=None, fsdp: int = 1) -> Mesh:
  """A (data, fsdp) mesh over `devices` (default: every device of every host). Batches
  split over both axes; the train state over `fsdp` by `genjax.training.sharding_rules`."""
  devices = np.asarray(jax.devices() if devices is None else devices)
  return Mesh(devices.reshape(-1, fsdp), (DATA_AXIS, FSDP_AXIS))


def replicated(mesh: Mesh) -> NamedSharding:
  return NamedSharding(mesh, P())


def batch_sharding(mesh: Mesh, batch_axis: int = 0) -> NamedSharding:
  """Shards axis `batch_axis` over every device of the mesh; axes before it (scan steps)
  are replicated."""
  return NamedSharding(mesh, P(*([None] * batch_axis), mesh.axis_names))


def gather(tree, mesh: Mesh):
  """`tree` replicated on every device: a state sharded over `fsdp` read whole, as the
  host-side code that draws figures reads it. Every process must call it together."""
  return jax.jit(lambda t: t, out_shardings=replicated(mesh))(tree)


def check_divides(global_batch_size: int, mesh: Mesh, what: str = 'batch_size') -> None:
  n = mesh.devices.size
  if global_batch_size % n:
    raise ConfigError(
        f'{what}={global_batch_size} does not divide over the {n} devices of the mesh; '
        f'set --config.{what} to a multiple of {n} (e.g. {-(-global_batch_size // n) * n}).')


def global_batch(local: dict[str, np.ndarray], mesh: Mesh, batch_axis: int = 0):
  """Assembles the global array from this host's rows; no host ever holds another's."""
  sharding = batch_sharding(mesh, batch_axis)
  return {k: jax.make_array_from_process_local_data(sharding, v) for k, v in local.items()}


def replicate_in_step(tree):
  """`tree` gathered onto every device, inside a step the loop compiled (it traces its
  steps under their mesh); a no-op outside a mesh.

  For a step whose result must not depend on how the batch was split: a reduction over
  shards adds in another order than one device does, so a family that wants bitwise the
  same result on any number of devices (word2vec's row updates) has every device compute
  the whole batch.
  """
  if jax.sharding.get_abstract_mesh().empty:
    return tree
  return jax.lax.with_sharding_constraint(tree, P())
