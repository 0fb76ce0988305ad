"""Decisions that lead to a collective or out of the loop, taken once for all hosts.

On several hosts every process must reach each collective (an Orbax save, a digest, the
end of the loop) at the same step, or one waits in it while another runs the next step's
collectives. What each host sees on its own differs: SIGTERM reaches a pod's hosts at
different moments, and their clocks drift. So at each step boundary the hosts exchange
their own views with one `multihost_utils.process_allgather` and all act on the union:
if any host asks to save (SIGTERM, its clock), every host saves that step.

Why not JAX's pre-emption sync point (`multihost_utils.reached_preemption_sync_point`):
it covers SIGTERM only and needs JAX's own signal notifier, which Python's handler (the
one a single process relies on) displaces; one exchange covers every reason alike, on
TPU pods, GPU clusters and CPU hosts over gloo.

What the step itself computes (its loss, whether it is finite, a family's `converged`)
needs no exchange: the step's metrics are reduced over the global batch, so every host
holds the same values and reaches the same verdict.
"""

from __future__ import annotations

import hashlib
import json
import os
from typing import Mapping

import jax
import numpy as np
from jax.experimental import multihost_utils

from genjax.errors import UserError

_PACKAGE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class HostMismatchError(UserError):
  """The processes of one run were started with different configs, workdirs or code."""


def any_host(views: Mapping[str, bool]) -> dict[str, bool]:
  """For each named decision, whether any process wants it; the same on every process.

  One collective on several processes, none on one: every process must call it at the
  same step boundaries with the same names.
  """
  if jax.process_count() == 1:
    return {name: bool(v) for name, v in views.items()}
  local = np.asarray([bool(v) for v in views.values()], np.int32)
  gathered = np.asarray(multihost_utils.process_allgather(local)).reshape(
      jax.process_count(), len(local))
  return {name: bool(v) for name, v in zip(views, gathered.max(axis=0))}


def code_digest() -> str:
  """A digest of the genjax package's sources: hosts must run the same code."""
  h = hashlib.sha256()
  for root, dirs, files in os.walk(_PACKAGE):
    dirs[:] = sorted(d for d in dirs if d != '__pycache__')
    for name in sorted(f for f in files if f.endswith('.py')):
      path = os.path.join(root, name)
      h.update(os.path.relpath(path, _PACKAGE).encode())
      with open(path, 'rb') as f:
        h.update(f.read())
  return h.hexdigest()


def _digest(text: str) -> str:
  return hashlib.sha256(text.encode()).hexdigest()


def check_same_run(config_json: str, workdir: str) -> None:
  """Stops every process, with one line naming the first that differs, unless all of them
  run the same config, workdir, genjax code and JAX version as process 0."""
  if jax.process_count() == 1:
    return
  mine = {'config': _digest(json.dumps(json.loads(config_json), sort_keys=True)),
          'workdir': _digest(workdir), 'genjax code': code_digest(),
          'JAX version': _digest(jax.__version__)}
  # The first 31 bits of each digest: enough to tell runs apart, and an int32 to gather.
  local = np.asarray([int(d[:8], 16) & 0x7FFFFFFF for d in mine.values()], np.int32)
  gathered = np.asarray(multihost_utils.process_allgather(local)).reshape(
      jax.process_count(), len(mine))
  for process, row in enumerate(gathered):
    differs = [what for what, a, b in zip(mine, row, gathered[0]) if a != b]
    if differs:
      raise HostMismatchError(
          f'Process {process} runs another {" and another ".join(differs)} than process 0; '
          'start every host with the same command, config and workdir, from the same '
          'genjax checkout and JAX install, then run again.')
