"""A step's FLOPs come from its compiled program, and the progress line turns them into a
rate per device, with MFU where the chip's peak is known."""

import json
import logging
import types

import jax
import jax.numpy as jnp
import numpy as np

from genjax.families import vae as vae_family
from genjax.training import utilization
from genjax.training.loop import train_and_evaluate


def test_a_matmuls_flops_are_two_m_n_k():
  a, b = jnp.ones((64, 32)), jnp.ones((32, 16))
  compiled = jax.jit(lambda x, y: x @ y).lower(a, b).compile()
  np.testing.assert_allclose(utilization.compiled_flops(compiled), 2 * 64 * 32 * 16, rtol=0.05)


def test_known_chips_give_mfu_and_a_cpu_its_matmul_rate():
  assert utilization.chip('TPU v5 lite').peak_bf16_flops == 197e12
  assert utilization.chip('TPU v5p').peak_bf16_flops == 459e12
  assert utilization.chip('NVIDIA H100 80GB HBM3').peak_bf16_flops == 989e12
  assert utilization.chip('NVIDIA H100 PCIe').peak_bf16_flops == 756e12
  assert utilization.chip('Some new accelerator') is None
  tpu = types.SimpleNamespace(device_kind='TPU v4', platform='tpu')
  assert utilization.describe(110e12, tpu) == '110.00 TFLOP/s per device, MFU 40%'
  cpu = jax.devices('cpu')[0]
  assert utilization.describe(2e9, cpu).startswith(
      '2.00 GFLOP/s per device (a float32 matmul here: ')


def test_the_progress_line_and_the_metrics_rows_carry_the_rate(tmp_path, smoke_config, caplog):
  caplog.set_level(logging.INFO)
  train_and_evaluate(vae_family.FAMILY, smoke_config, str(tmp_path))
  lines = [r.getMessage() for r in caplog.records if 'examples/s' in r.getMessage()]
  assert lines and all('FLOP/s per device' in line for line in lines), lines
  train = [json.loads(line) for line in open(tmp_path / 'metrics.jsonl')
           if json.loads(line)['split'] == 'train']
  assert all('device_flops_per_sec' in r for r in train)
  assert train[-1]['device_flops_per_sec'] > 0
