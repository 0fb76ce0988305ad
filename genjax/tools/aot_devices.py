"""The devices an ahead-of-time compile targets, named by `--topology`: a TPU slice that this
host does not have (`v5e:2x4`, `v4:2x2x4`, `v5p:2x2x2`, `v6e:16x16`, described by libtpu
without any TPU attached), this host's CPU split into N devices (`cpu:8`), or N local GPUs
(`gpu:2`).

A TPU slice is named as its chips' grid, the way `gcloud` and MaxText name topologies:
v5e-8 is `v5e:2x4`, v5e-256 `v5e:16x16`, v4-32 (32 TensorCores, 16 chips) `v4:2x2x4`. v4
and v5p chips are one JAX device each (megacore), as on the real slice.
"""

from __future__ import annotations

import dataclasses
import math
import os
import re

import jax

from genjax.errors import UserError
from genjax.training import utilization

EXAMPLES = 'v5e:2x4, v5e:16x16, v4:2x2x4, v5p:2x2x2, v6e:2x2, cpu:8 or gpu:1'
# The user's spelling -> (libtpu's generation name, chip config, accelerator type prefix,
# TensorCores per chip in that type's count).
_TPU_GENERATIONS = {
    'v4': ('v4', 'megacore', 'v4', 2),
    'v5p': ('v5p', 'megacore', 'v5p', 2),
    'v5e': ('v5e', 'default', 'v5litepod', 1),
    'v5litepod': ('v5e', 'default', 'v5litepod', 1),
    'v6e': ('v6e', 'default', 'v6e', 1),
}
_SPELLING = re.compile(r'^(?P<kind>[a-z0-9]+):(?P<shape>\d+(?:x\d+){0,2})$')


@dataclasses.dataclass(frozen=True)
class Target:
  """What a compile is for.

  Attributes:
    name: the topology as the user wrote it.
    devices: one per mesh position; compile-only devices for a TPU slice.
    platform: 'tpu', 'cpu' or 'gpu'.
    kind: the devices' `device_kind` ('TPU v5 lite').
    hbm_bytes: memory per device that the program must fit in; None where unknown.
    peak_flops: the chip's dense bfloat16 FLOP/s; None where unknown (a CPU).
  """
  name: str
  devices: tuple
  platform: str
  kind: str
  hbm_bytes: float | None
  peak_flops: float | None

  def memory_source(self) -> str:
    return 'host memory shared by the devices' if self.platform == 'cpu' else 'HBM'


def target(topology: str, hbm_gib: float = 0.0) -> Target:
  """The devices of `topology`; `hbm_gib` > 0 replaces the memory per device (a smaller
  budget than the chip's, or a test's)."""
  match = _SPELLING.match(topology.strip().lower())
  if not match:
    raise UserError(f'--topology={topology!r} names no device set; write KIND:SHAPE, e.g. '
                    f'{EXAMPLES}.')
  kind, shape = match.group('kind'), match.group('shape')
  if kind != 'gpu':
    # The host side of the compile is the CPU; with libtpu installed JAX would otherwise
    # also open it as a backend of this host, which has no TPU (and say so at length).
    jax.config.update('jax_platforms', 'cpu')
  if kind == 'cpu':
    devices, platform = _cpu_devices(_count(topology, shape)), 'cpu'
  elif kind == 'gpu':
    devices, platform = _gpu_devices(_count(topology, shape)), 'gpu'
  elif kind in _TPU_GENERATIONS:
    devices, platform = _tpu_devices(topology, kind, shape), 'tpu'
  else:
    raise UserError(f'--topology={topology!r}: unknown device kind {kind!r}; use one of '
                    f'{", ".join(sorted(_TPU_GENERATIONS))}, cpu or gpu, e.g. {EXAMPLES}.')
  device_kind = devices[0].device_kind
  chip = utilization.chip(device_kind)
  hbm = chip.hbm_bytes if chip else None
  if platform == 'cpu':
    hbm = _host_memory_bytes() / len(devices)
  if hbm_gib > 0:
    hbm = hbm_gib * 2**30
  return Target(name=topology, devices=tuple(devices), platform=platform, kind=device_kind,
                hbm_bytes=hbm, peak_flops=chip.peak_bf16_flops if chip else None)


def _count(topology: str, shape: str) -> int:
  if 'x' in shape or int(shape) < 1:
    raise UserError(f'--topology={topology!r}: cpu and gpu take a device count, e.g. '
                    'cpu:8 or gpu:1.')
  return int(shape)


def _cpu_devices(n: int) -> list:
  # The CPU client splits into N devices only if told before it starts; a process that
  # started it already (a test, a notebook) keeps the count it started with.
  try:
    jax.config.update('jax_num_cpu_devices', n)
  except RuntimeError:
    pass
  devices = jax.devices('cpu')
  if len(devices) < n:
    raise UserError(f'--topology=cpu:{n}: this process already started JAX with '
                    f'{len(devices)} CPU device(s); run it in a fresh process, or with '
                    f'XLA_FLAGS=--xla_force_host_platform_device_count={n}.')
  return devices[:n]


def _gpu_devices(n: int) -> list:
  try:
    devices = jax.devices('gpu')
  except RuntimeError:
    devices = []
  if len(devices) < n:
    raise UserError(f'--topology=gpu:{n} compiles for GPUs on this host, and it has '
                    f'{len(devices)}; run it on a host with {n}, or compile for a TPU '
                    f'slice or the CPU ({EXAMPLES}).')
  return devices[:n]


def _tpu_devices(topology: str, kind: str, shape: str) -> list:
  generation, chip_config, accelerator, cores_per_chip = _TPU_GENERATIONS[kind]
  chips = math.prod(int(d) for d in shape.split('x'))
  # libtpu reads these when it loads. The compile needs no TPU, so: no lock against other
  # JAX processes of this host, no cloud metadata server, and the slice's accelerator type
  # so that it does not warn that it cannot find one. A user's own settings win.
  for name, value in (('ALLOW_MULTIPLE_LIBTPU_LOAD', '1'), ('TPU_SKIP_MDS_QUERY', '1'),
                      ('TPU_WORKER_HOSTNAMES', 'localhost'),
                      ('TPU_ACCELERATOR_TYPE', f'{accelerator}-{chips * cores_per_chip}'),
                      ('TPU_STDERR_LOG_LEVEL', '3'), ('TPU_MIN_LOG_LEVEL', '3')):
    os.environ.setdefault(name, value)
  from jax.experimental import topologies  # pylint: disable=g-import-not-at-top
  try:
    description = topologies.get_topology_desc(
        platform='tpu', topology_name=f'{generation}:{shape}', chip_config_name=chip_config)
  except RuntimeError as e:
    if 'TPU support not installed' in str(e):
      raise UserError(f'--topology={topology} needs libtpu to compile for TPUs, which is not '
                      f"installed; pip install 'jax[tpu]=={jax.__version__}' (or "
                      "pip install -e '.[aot]'), or compile for --topology=cpu:8.") from None
    first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
    raise UserError(f'--topology={topology}: libtpu refuses it ({first}); name a slice '
                    f'that exists, e.g. {EXAMPLES}.') from None
  return list(description.devices)


def _host_memory_bytes() -> float:
  return float(os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES'))
