"""How much of its devices a step uses: its FLOPs from the compiled program, and the peak
rates and memory of the chips genjax knows, for the progress line's MFU and for
`genjax.tools.aot`'s estimates.

The peaks are dense bfloat16 matmul rates per chip, from the vendors' data sheets (a
TPU v3 chip is two cores). A device kind not in the table gets no MFU; on a CPU the line
gives the rate beside what one large matmul reaches on this machine, measured once.
"""

from __future__ import annotations

import functools
import time
from typing import NamedTuple

import jax
import jax.numpy as jnp


class Chip(NamedTuple):
  peak_bf16_flops: float  # per chip, dense
  hbm_bytes: float  # per chip


# Matched by substring of `jax.Device.device_kind`, the first that matches.
CHIPS = (
    ('TPU v6', Chip(918e12, 32 * 2**30)),
    ('TPU v5 lite', Chip(197e12, 16 * 2**30)),  # v5e
    ('TPU v5', Chip(459e12, 95 * 2**30)),  # v5p: device_kind 'TPU v5', as libtpu names it
    ('TPU v4', Chip(275e12, 32 * 2**30)),
    ('TPU v3', Chip(123e12, 32 * 2**30)),
    ('H200', Chip(989e12, 141e9)),
    ('H100 PCIe', Chip(756e12, 80e9)),
    ('H100', Chip(989e12, 80e9)),
    ('A100', Chip(312e12, 80e9)),
)


def chip(device_kind: str) -> Chip | None:
  return next((c for name, c in CHIPS if name in device_kind), None)


def steps_counted(steps: int, unroll: int) -> int:
  """How many of a call's `steps` XLA's cost analysis counts: it counts a loop's body once,
  and `lax.scan` unrolled by u runs a body of u steps (plus the remainder outside the
  loop); unroll 0 or >= steps is no loop at all."""
  if unroll == 0 or unroll >= steps:
    return steps
  return unroll + steps % unroll


def compiled_flops(compiled) -> float | None:
  """FLOPs of one call of a compiled program on one device (XLA's cost analysis of the
  partitioned program); None where the backend gives none."""
  analysis = compiled.cost_analysis()
  if isinstance(analysis, (list, tuple)):  # older JAX: one dict per program
    analysis = analysis[0] if analysis else None
  flops = (analysis or {}).get('flops')
  return float(flops) if flops and flops > 0 else None


@functools.lru_cache(maxsize=None)
def cpu_matmul_flops() -> float:
  """FLOP/s of a 1024x1024 float32 matmul on this machine's CPU, best of a few."""
  x = jnp.ones((1024, 1024), jnp.float32)
  matmul = jax.jit(lambda a: a @ a)
  matmul(x).block_until_ready()
  best = float('inf')
  for _ in range(3):
    start = time.perf_counter()
    matmul(x).block_until_ready()
    best = min(best, time.perf_counter() - start)
  return 2 * 1024 ** 3 / best


def describe(flops_per_sec: float, device: jax.Device) -> str:
  """'41.2 TFLOP/s per device, MFU 42%' (or, on a CPU, the rate beside its matmul's)."""
  rate = (f'{flops_per_sec / 1e12:.2f} TFLOP/s' if flops_per_sec >= 1e11
          else f'{flops_per_sec / 1e9:.2f} GFLOP/s')
  known = chip(device.device_kind)
  if known is not None:
    return f'{rate} per device, MFU {flops_per_sec / known.peak_bf16_flops:.0%}'
  if device.platform == 'cpu':
    return f'{rate} per device (a float32 matmul here: {cpu_matmul_flops() / 1e9:.0f} GFLOP/s)'
  return f'{rate} per device'
