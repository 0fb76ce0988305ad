"""Which settings of a config would cut a compiled step's memory per device, the likeliest
first: sharding the train state when the arguments dominate, recomputing activations or
splitting the batch when the temporaries do.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Sequence

import ml_collections

from genjax.tools.aot_report import Memory


@dataclasses.dataclass(frozen=True)
class Lever:
  """One config field and the value that would save memory."""
  field: str  # dotted: 'mesh.fsdp'
  value: object

  def __str__(self) -> str:
    return f'--config.{self.field}={self.value}'

  def apply(self, config: ml_collections.ConfigDict) -> ml_collections.ConfigDict:
    """A copy of `config` with the field set."""
    config = config.copy_and_resolve_references()
    *sections, name = self.field.split('.')
    node = config
    for section in sections:
      node = node[section]
    node[name] = self.value
    return config


def levers(config: ml_collections.ConfigDict, memory: Memory, devices: int, over: float, *,
           compute_dtypes: Sequence[str], can_accumulate: bool) -> list[Lever]:
  """The settings of `config` that would cut `over` bytes from `memory` per device.

  Args:
    config: the config as compiled.
    memory: its step's memory per device.
    devices: the devices of the mesh.
    over: bytes over the memory per device.
    compute_dtypes: those the family computes in.
    can_accumulate: whether the family's step takes `grad_accum_steps` (a mean loss,
      no update of its own, no state learnt from the batch).
  """
  for_arguments, for_temporaries = [], []
  if config.mesh.fsdp < devices:
    for_arguments.append(Lever('mesh.fsdp', devices))
  if config.optimizer.get('moment_dtype', '') == 'float32':
    for_arguments.append(Lever('optimizer.moment_dtype', 'bfloat16'))
  if config.model.get('remat', '') == 'none':
    for_temporaries.append(Lever('model.remat', 'block'))
  if config.compute_dtype == 'float32' and 'bfloat16' in compute_dtypes:
    for_temporaries.append(Lever('compute_dtype', 'bfloat16'))
  k = micro_batches(config, memory, devices, over) if can_accumulate else 0
  if k:
    for_temporaries.append(Lever('grad_accum_steps', k))
  if memory.arguments >= memory.temporaries:
    return for_arguments + for_temporaries
  return for_temporaries + for_arguments


def micro_batches(config: ml_collections.ConfigDict, memory: Memory, devices: int,
                  over: float) -> int:
  """The fewest micro-batches whose temporaries (about 1/k of a whole batch's) would save
  `over`, among those the batch splits into over `devices`; 0 where none would."""
  k_now = config.grad_accum_steps
  if memory.temporaries <= over:
    return 0
  needed = math.ceil(k_now * memory.temporaries / (memory.temporaries - over))
  for k in range(max(needed, k_now + 1), config.batch_size // devices + 1):
    if config.batch_size % (k * devices) == 0:
      return k
  return 0
