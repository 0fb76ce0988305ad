"""Data parallelism: a step sharded over 8 devices equals the one-device step, and so do
the BatchNorm statistics it computes, EM's sufficient statistics and a VQ-VAE's EMA codebook
counts, which are reduced over
every device's rows."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

SCRIPT = os.path.join(os.path.dirname(__file__), 'sharded_step_check.py')


@pytest.mark.slow
def test_sharded_step_equals_single_device_step():
  # XLA's device count is fixed at start-up, hence a fresh process.
  out = subprocess.run([sys.executable, SCRIPT], capture_output=True, text=True, timeout=300,
                       check=True).stdout
  result = json.loads(out.strip().splitlines()[-1])
  assert result['shards8'] == 8  # the batch really was split over 8 devices
  assert abs(result['loss8'] - result['loss1']) < 1e-4 * abs(result['loss1'])
  assert result['max_param_diff'] < 1e-5
  assert result['max_batch_stats_diff'] < 1e-5
  assert 'batch_size=12 does not divide over the 8 devices' in result['divide_error']
  assert '--config.batch_size to a multiple of 8' in result['divide_error']
  assert result['em_shards8'] == 8
  assert abs(result['em_log_likelihood8'] - result['em_log_likelihood1']) < 1e-5 * abs(
      result['em_log_likelihood1'])
  assert result['em_max_param_diff'] < 1e-3
  # The EMA codebook's counts are the whole batch's: 16 initial + 0.1 * 256 assignments.
  assert result['vq_shards8'] == 8
  np.testing.assert_allclose(result['vq_counts8'], 0.9 * 16 + 0.1 * 256, rtol=1e-6)
  assert result['vq_max_diff'] < 1e-5
