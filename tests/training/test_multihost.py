"""Two processes on localhost (jax.distributed over gloo) against one process."""

import json
import os
import shutil
import socket
import subprocess
import sys

import pytest

from tests import xla_flags

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _free_port() -> int:
  with socket.socket() as s:
    s.bind(('localhost', 0))
    return s.getsockname()[1]


def _train(workdir, num_processes, total_steps=8):
  base = [sys.executable, '-m', 'experiments.vae', '--config=configs/vae.py:smoke',
          f'--workdir={workdir}', f'--config.total_steps={total_steps}']
  env = {**os.environ, 'XLA_FLAGS': xla_flags.flags()}  # one CPU device per process
  if num_processes == 1:
    subprocess.run(base, cwd=REPO, env=env, check=True, capture_output=True, timeout=300)
    return
  port = _free_port()
  procs = [subprocess.Popen(base + [f'--coordinator_address=localhost:{port}',
                                    f'--num_processes={num_processes}', f'--process_id={i}'],
                            cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True) for i in range(num_processes)]
  for p in procs:
    out, _ = p.communicate(timeout=300)
    assert p.returncode == 0, out[-3000:]


def _last_train_loss(workdir):
  with open(os.path.join(workdir, 'metrics.jsonl')) as f:
    rows = [json.loads(line) for line in f]
  return [r for r in rows if r['split'] == 'train'][-1]


@pytest.mark.slow
def test_two_processes_match_one_and_share_checkpoints(tmp_path):
  one, two = str(tmp_path / 'one'), str(tmp_path / 'two')
  _train(one, 1)
  _train(two, 2)
  a, b = _last_train_loss(one), _last_train_loss(two)
  assert a['step'] == b['step'] == 8
  assert abs(a['loss'] - b['loss']) < 1e-4 * abs(a['loss'])
  assert sorted(os.listdir(os.path.join(two, 'checkpoints'))) == ['4', '8']

  # Either layout resumes the other's checkpoint and both continue identically.
  shutil.copytree(two, str(tmp_path / 'two_then_one'))
  shutil.copytree(one, str(tmp_path / 'one_then_two'))
  _train(str(tmp_path / 'two_then_one'), 1, total_steps=12)
  _train(str(tmp_path / 'one_then_two'), 2, total_steps=12)
  c = _last_train_loss(str(tmp_path / 'two_then_one'))
  d = _last_train_loss(str(tmp_path / 'one_then_two'))
  assert c['step'] == d['step'] == 12
  assert abs(c['loss'] - d['loss']) < 1e-4 * abs(c['loss'])
