"""Several processes on localhost (jax.distributed over gloo) take every decision that
leads to a collective together: SIGTERM to one host, clocks that differ, a non-finite
value on one host's rows, a host started with another config, a host that never joins.

Every process has a time limit: a hang fails the test instead of stalling the suite.
"""

import os
import signal
import socket
import subprocess
import sys
import time

import numpy as np
import pytest

from genjax.training.restore import load_run
from tests import xla_flags
from tests.training.checks import assert_bitwise_equal, raw_state

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
LIMIT_SECONDS = 180
POD_MAIN = ['-m', 'tests.training.toys.pod', '--config=tests/training/toys/pod.py']


def _free_port() -> int:
  with socket.socket() as s:
    s.bind(('localhost', 0))
    return s.getsockname()[1]


def _launch(workdir, num_processes, *flags, only=None, extra=None):
  """Starts the processes of one run (those in `only`, default all); `extra` maps a
  process index to flags of its own. Their output goes to files: a pipe left unread
  would stall a process in a write while the others wait for it in a collective."""
  port, extra = _free_port(), extra or {}
  env = {**os.environ, 'XLA_FLAGS': xla_flags.flags()}  # one CPU device per process
  logs = os.path.join(os.path.dirname(str(workdir)), f'{os.path.basename(str(workdir))}_logs')
  os.makedirs(logs, exist_ok=True)
  procs = []
  for i in range(num_processes) if only is None else only:
    out, err = (open(os.path.join(logs, f'{i}.{k}'), 'w+') for k in ('out', 'err'))
    p = subprocess.Popen(
        [sys.executable, *POD_MAIN, f'--workdir={workdir}',
         f'--coordinator_address=localhost:{port}', f'--num_processes={num_processes}',
         f'--process_id={i}', *flags, *extra.get(i, ())],
        cwd=REPO, env=env, stdout=out, stderr=err, text=True)
    p.logs = (out, err)
    procs.append(p)
  return procs


def _read(f) -> str:
  f.seek(0)
  return f.read()


def _finish(procs, limit=LIMIT_SECONDS):
  """[(exit code, stdout, stderr)] per process; kills them all past the limit."""
  deadline = time.time() + limit
  try:
    for p in procs:
      p.wait(timeout=max(1.0, deadline - time.time()))
  except subprocess.TimeoutExpired:
    for p in procs:
      p.kill()
    pytest.fail(f'a process was still running after {limit} s: the hosts did not agree\n'
                + _read(procs[0].logs[0])[-3000:])
  return [(p.returncode, _read(p.logs[0]), _read(p.logs[1])) for p in procs]


def _wait_for_line(process, text, limit=LIMIT_SECONDS):
  """Waits until the process's output (where the launcher logs) holds `text`."""
  deadline = time.time() + limit
  while time.time() < deadline and process.poll() is None:
    if text in _read(process.logs[0]):
      return
    time.sleep(0.2)
  raise AssertionError(f'{text!r} never appeared:\n' + _read(process.logs[0])[-3000:])


def _saved_steps(log: str) -> list[int]:
  return [int(line.split('saved step ')[1].split(':')[0])
          for line in log.splitlines() if 'saved step ' in line]


@pytest.mark.slow
@pytest.mark.parametrize('num_processes', [2])
def test_sigterm_to_one_host_saves_the_same_step_on_every_host_and_resumes_bitwise(
    tmp_path, num_processes):
  long_run = ('--config.total_steps=10000000', '--config.ckpt_every=0',
              '--config.log_every=1000000')
  interrupted = tmp_path / 'interrupted'
  procs = _launch(interrupted, num_processes, *long_run)
  last = procs[-1]
  _wait_for_line(last, 'compiled the train step')
  last.send_signal(signal.SIGTERM)
  results = _finish(procs)
  for code, out, err in results:
    assert code == 0, err[-3000:]
  assert 'after SIGTERM;' in results[-1][1]
  assert all('after SIGTERM to another host' in out for _, out, _ in results[:-1])
  stopped_at = load_run(str(interrupted)).step
  assert 0 < stopped_at < 10000000
  assert os.listdir(interrupted / 'checkpoints') == [str(stopped_at)]

  # The interrupted run resumed, and a run straight to the same step, end bitwise equal.
  until = f'--config.total_steps={stopped_at + 10}'
  for workdir in (interrupted, tmp_path / 'straight'):
    for code, _, err in _finish(_launch(workdir, num_processes, until, '--config.ckpt_every=0')):
      assert code == 0, err[-3000:]
  assert_bitwise_equal(raw_state(interrupted), raw_state(tmp_path / 'straight'))


@pytest.mark.slow
@pytest.mark.parametrize('num_processes', [4])
def test_every_host_saves_the_same_steps_however_its_clock_runs(tmp_path, num_processes):
  results = _finish(_launch(tmp_path, num_processes, '--config.total_steps=100',
                            '--config.ckpt_every=0', '--config.ckpt_every_minutes=0.002'))
  saved = []
  for code, out, err in results:
    assert code == 0, err[-3000:]
    saved.append(_saved_steps(out))
  assert saved[0] and all(s == saved[0] for s in saved)
  on_disk = sorted(int(s) for s in os.listdir(tmp_path / 'checkpoints'))
  assert on_disk == sorted(set(saved[0]) | {100})


@pytest.mark.slow
@pytest.mark.parametrize('skip_non_finite', [False, True])
def test_a_non_finite_batch_on_one_hosts_rows_stops_or_rolls_back_every_host(
    tmp_path, skip_non_finite):
  results = _finish(_launch(tmp_path, 2, '--config.data.poisoned_position=25',
                            '--config.data.poisoned_process=1',
                            f'--config.skip_non_finite={skip_non_finite}'))
  codes = [code for code, _, _ in results]
  if not skip_non_finite:
    assert codes == [2, 2]
    for _, _, err in results:
      assert 'the loss became non-finite' in err.strip().splitlines()[-1]
    assert sorted(os.listdir(tmp_path / 'checkpoints')) == ['20']
  else:
    assert codes == [0, 0], results[0][2][-3000:]
    for _, out, _ in results:
      assert 'Non-finite at data position 25: rolled back to step 20' in out
    run = load_run(str(tmp_path))
    assert run.step == 40 and np.all(np.isfinite(run.params['w']))


@pytest.mark.slow
def test_a_host_started_with_another_config_stops_every_host_in_one_line(tmp_path):
  results = _finish(_launch(tmp_path, 2, extra={1: ['--config.seed=7']}))
  for code, _, err in results:
    assert code == 2
    assert err.strip().splitlines()[-1].startswith(
        'error: Process 1 runs another config than process 0;')
  assert not os.path.exists(tmp_path / 'checkpoints')


@pytest.mark.slow
def test_a_host_that_never_joins_stops_the_others_in_one_line(tmp_path):
  (code, _, err), = _finish(_launch(tmp_path, 2, '--join_timeout_seconds=3', only=[0]),
                            limit=60)
  assert code == 2
  assert err.strip().splitlines()[-1].startswith(
      'error: process 0 of 2 waited 3 s for the run\'s other processes at localhost:')
