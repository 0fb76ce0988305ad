"""Nothing a user made is lost: a second run on a live workdir, a non-finite state, a
corrupt checkpoint, SIGTERM, a kill between saves and a finished run run again."""

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from genjax.families import vae as vae_family
from genjax.training.loop import train_and_evaluate
from genjax.training.pending import NonFiniteError
from genjax.training.restore import load_run
from tests.training.checks import assert_bitwise_equal, raw_state
from tests.training.toys import common, regression

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
LONG_VAE = ['-m', 'experiments.vae', '--config=configs/vae.py:smoke', '--config.total_steps=4000',
            '--config.eval_every=0', '--config.ckpt_every=1000', '--config.log_every=1000']


def _start(workdir, *flags):
  return subprocess.Popen([sys.executable, *LONG_VAE, f'--workdir={workdir}', *flags], cwd=REPO,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def _wait_for(process, text, timeout=300):
  """Reads the process's output until a line holds `text`; returns everything read."""
  seen, deadline = [], time.time() + timeout
  while time.time() < deadline:
    line = process.stdout.readline()
    if not line:
      break
    seen.append(line)
    if text in line:
      return ''.join(seen)
  raise AssertionError(f'{text!r} never appeared:\n' + ''.join(seen)[-3000:])


@pytest.mark.slow
def test_a_second_run_on_a_live_workdir_fails_fast_and_the_first_finishes(tmp_path):
  first = _start(tmp_path)
  _wait_for(first, 'compiled the train step')
  second = subprocess.run([sys.executable, *LONG_VAE, f'--workdir={tmp_path}',
                           '--config.model.latent_dim=5'], cwd=REPO, capture_output=True,
                          text=True, timeout=300)
  assert second.returncode == 2
  assert f'in use by another run (pid {first.pid}' in second.stderr.splitlines()[-1]
  first.stdout.read()
  assert first.wait(timeout=300) == 0
  run = load_run(str(tmp_path))
  assert run.step == 4000 and run.signature['model']['latent_dim'] == 20


def test_a_stale_lock_is_taken_over(tmp_path, smoke_config):
  (tmp_path / '.lock').write_text(json.dumps({'pid': 999999, 'host': 'gone', 'started': 'x'}))
  train_and_evaluate(vae_family.FAMILY, smoke_config, str(tmp_path))
  assert load_run(str(tmp_path)).step == 8


def test_a_non_finite_state_is_never_saved_and_the_run_resumes(tmp_path):
  fields = dict(ckpt_every=2, log_every=2, eval_every=4, total_steps=8)
  poisoned = regression.family(nan_at_step=5)  # the last step of a call: every loss finite
  config = common.config(poisoned, **fields)
  with pytest.raises(NonFiniteError, match='params became non-finite.*last checkpoint, step 4'):
    train_and_evaluate(poisoned, config, str(tmp_path))
  steps = sorted(int(s) for s in os.listdir(tmp_path / 'checkpoints') if s.isdigit())
  assert steps == [2, 4]
  assert np.all(np.isfinite(load_run(str(tmp_path)).params['w']))
  healthy = regression.family(nan_at_step=-1)
  train_and_evaluate(healthy, common.config(healthy, **fields), str(tmp_path))
  train_and_evaluate(healthy, common.config(healthy, **fields), str(tmp_path / 'straight'))
  assert_bitwise_equal(raw_state(tmp_path), raw_state(tmp_path / 'straight'))


def test_no_figures_are_made_of_a_state_that_went_non_finite(tmp_path):
  # Params turn NaN in the call that ends at step 6, a figure step that is neither a log,
  # an eval nor a checkpoint step: the run stops there without writing artifacts of it.
  poisoned = regression.family(nan_at_step=5, artifacts=True)
  config = common.config(poisoned, figures_every=2, log_every=4, eval_every=8, ckpt_every=4)
  with pytest.raises(NonFiniteError, match='params became non-finite'):
    train_and_evaluate(poisoned, config, str(tmp_path))
  written = sorted(os.listdir(tmp_path / 'artifacts'))
  assert written == ['step_00000002.npz', 'step_00000004.npz']
  for name in written:
    assert np.all(np.isfinite(np.load(tmp_path / 'artifacts' / name)['w']))


def test_with_skip_non_finite_a_bad_batch_is_rolled_back_and_skipped(tmp_path, caplog):
  fields = dict(ckpt_every=4, log_every=2, eval_every=4, total_steps=8, skip_non_finite=True)
  poisoned = regression.family(poisoned_position=5)
  train_and_evaluate(poisoned, common.config(poisoned, **fields), str(tmp_path))
  assert any('Non-finite at data position 5: rolled back to step 4' in r.getMessage()
             for r in caplog.records)
  run = load_run(str(tmp_path))
  assert run.step == 8 and np.all(np.isfinite(run.params['w']))
  meta = json.load(open(tmp_path / 'checkpoints' / '8' / 'meta' / 'metadata'))
  assert meta['skipped_batches'] == [5]
  train_rows = [r['step'] for r in map(json.loads, open(tmp_path / 'metrics.jsonl'))
                if r['split'] == 'train']
  assert train_rows == [2, 4, 6, 8]  # the rolled-back rows were dropped, then written once


def _flip_a_byte(checkpoint_dir):
  files = [os.path.join(root, f) for root, _, names in os.walk(checkpoint_dir) for f in names]
  biggest = max(files, key=os.path.getsize)
  data = bytearray(open(biggest, 'rb').read())
  data[len(data) // 2] ^= 0x10
  open(biggest, 'wb').write(bytes(data))


@pytest.mark.slow
def test_a_corrupt_newest_checkpoint_falls_back_to_the_previous_one(tmp_path, smoke_config,
                                                                   caplog):
  straight, damaged = str(tmp_path / 'straight'), str(tmp_path / 'damaged')
  train_and_evaluate(vae_family.FAMILY, smoke_config, straight)
  train_and_evaluate(vae_family.FAMILY, smoke_config, damaged)
  _flip_a_byte(os.path.join(damaged, 'checkpoints', '8', 'state'))
  os.remove(os.path.join(damaged, 'final_metrics.json'))
  train_and_evaluate(vae_family.FAMILY, smoke_config, damaged)
  assert any('Checkpoint 8 is unusable' in r.getMessage() for r in caplog.records)
  assert os.listdir(os.path.join(damaged, 'corrupt_checkpoints'))
  assert_bitwise_equal(raw_state(straight), raw_state(damaged))
  final = lambda w: json.load(open(os.path.join(w, 'final_metrics.json')))
  assert final(straight) == final(damaged)


@pytest.mark.slow
def test_sigterm_saves_at_the_next_boundary_and_the_resumed_run_is_bitwise_the_same(tmp_path):
  # 50 steps a call, not the smoke run's 2: the straight and the resumed run train
  # their thousands of steps in fewer calls, and the boundary is still a call's end.
  calls = '--config.steps_per_call=50'
  interrupted = _start(tmp_path / 'interrupted', calls)
  _wait_for(interrupted, 'compiled the train step')
  interrupted.send_signal(signal.SIGTERM)
  output = interrupted.stdout.read()
  assert interrupted.wait(timeout=300) == 0, output[-3000:]
  assert 'after SIGTERM' in output
  stopped_at = load_run(str(tmp_path / 'interrupted')).step
  assert 0 < stopped_at < 4000
  for workdir in ('interrupted', 'straight'):
    process = _start(tmp_path / workdir, calls)
    process.stdout.read()
    assert process.wait(timeout=300) == 0
  assert_bitwise_equal(raw_state(tmp_path / 'interrupted'), raw_state(tmp_path / 'straight'))


def test_metrics_are_written_exactly_once_across_a_kill_and_a_rerun(tmp_path, smoke_config):
  straight, killed = str(tmp_path / 'straight'), str(tmp_path / 'killed')
  train_and_evaluate(vae_family.FAMILY, smoke_config, straight)
  train_and_evaluate(vae_family.FAMILY, smoke_config, killed)
  # As if killed after the rows of steps 5..8 but before checkpoint 8 was written.
  import shutil  # pylint: disable=g-import-not-at-top
  shutil.rmtree(os.path.join(killed, 'checkpoints', '8'))
  os.remove(os.path.join(killed, 'final_metrics.json'))
  train_and_evaluate(vae_family.FAMILY, smoke_config, killed)
  train_and_evaluate(vae_family.FAMILY, smoke_config, killed)  # finished: does nothing
  rows = lambda w: [{k: v for k, v in json.loads(line).items() if not k.endswith('_per_sec')}
                    for line in open(os.path.join(w, 'metrics.jsonl'))]
  assert rows(killed) == rows(straight)
  assert len([r for r in rows(killed) if r['split'] == 'test_final']) == 1


@pytest.mark.slow
def test_a_kill_during_an_asynchronous_save_leaves_the_last_complete_checkpoint(tmp_path):
  # A train state of about 20 MB, saved every call: the kill lands while Orbax's
  # background thread is still writing one checkpoint, after at least one is complete.
  wide = ('--config.model.hidden=(1024,1024)', '--config.ckpt_every=2',
          '--config.keep_checkpoints=3')
  process = _start(tmp_path, *wide)
  checkpoints = tmp_path / 'checkpoints'
  deadline = time.time() + 300
  while time.time() < deadline and process.poll() is None:
    names = os.listdir(checkpoints) if checkpoints.exists() else []
    if any(n.isdigit() for n in names) and any('tmp' in n for n in names):
      break
    time.sleep(0.01)
  process.kill()
  process.wait(timeout=60)
  in_flight = [n for n in os.listdir(checkpoints) if 'tmp' in n]
  assert in_flight, 'the kill did not land during a save'
  complete = max(int(n) for n in os.listdir(checkpoints) if n.isdigit())
  assert load_run(str(tmp_path)).step == complete
  resumed = _start(tmp_path, *wide, '--config.total_steps=' + str(complete + 4))
  output = resumed.stdout.read()
  assert resumed.wait(timeout=300) == 0, output[-3000:]
  assert f'resumed from {checkpoints} at step {complete}' in output
  assert load_run(str(tmp_path)).step == complete + 4
