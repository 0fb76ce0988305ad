"""Checks the training tests share: the whole saved state of a run, and bitwise equality."""

import os

import chex
import jax
import numpy as np
import orbax.checkpoint as ocp


def raw_state(workdir):
  """The whole saved train state (optimiser state and rng included) of the latest step."""
  steps = [int(s) for s in os.listdir(os.path.join(workdir, 'checkpoints')) if s.isdigit()]
  # A state saved over several processes reads onto this one's first device.
  one_device = jax.sharding.SingleDeviceSharding(jax.local_devices()[0])
  return ocp.Checkpointer(ocp.StandardCheckpointHandler()).restore(
      os.path.join(workdir, 'checkpoints', str(max(steps)), 'state'),
      args=ocp.args.StandardRestore(fallback_sharding=one_device))


def assert_bitwise_equal(a, b):
  chex.assert_trees_all_equal_structs(a, b)
  jax.tree.map(np.testing.assert_array_equal, a, b)
