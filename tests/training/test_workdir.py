"""A workdir anywhere etils.epath reaches: the lease that locks one where flock cannot, the
whole-file metrics and the figures copied up for an object store, and a run trained,
resumed and refused on gs:// through a local GCS emulator."""

import json
import logging
import os
import queue
import re
import signal
import socket
import subprocess
import sys
import threading
import time

import fsspec
import numpy as np
import pytest
from etils import epath

import genjax
from genjax.training import progress as progress_lib
from genjax.training import remote_figures, storage
from genjax.training.lease import Lease
from genjax.training.restore import load_run
from genjax.training.workdir import WorkdirBusyError, WorkdirLock, WorkdirLostError

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _lease(tmp_path, **kwargs):
  return Lease(tmp_path / '.lock', **{'interval': 60.0, 'settle': 0.0, **kwargs})


def _record(tmp_path):
  return json.loads((tmp_path / '.lock').read_text())


def test_only_uris_are_not_local():
  assert storage.is_local('runs/vae') and storage.is_local('/tmp/x')
  assert not storage.is_local('gs://bucket/run') and not storage.is_local('s3://b/r')
  assert storage.absolute('gs://bucket/run') == 'gs://bucket/run'
  assert storage.absolute('runs/vae') == os.path.abspath('runs/vae')


def test_a_tree_moves_into_a_folder_made_for_it(tmp_path):
  (tmp_path / 'checkpoints' / '4' / 'state').mkdir(parents=True)
  (tmp_path / 'checkpoints' / '4' / 'state' / 'x').write_text('x')
  storage.move_tree(tmp_path / 'checkpoints' / '4', tmp_path / 'corrupt' / '4.1')
  assert sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob('*') if p.is_file()) == [
      'corrupt/4.1/state/x']


def test_a_fresh_lease_is_refused_in_one_line(tmp_path):
  holder = _lease(tmp_path)
  assert holder.acquire() is None
  try:
    assert _lease(tmp_path).acquire().startswith(f'pid {os.getpid()} on ')
    with pytest.raises(WorkdirBusyError, match=f'in use by another run \\(pid {os.getpid()} '
                       r'on .*last heartbeat 0s ago\); wait for it'):
      with WorkdirLock(str(tmp_path), lease=True):
        pass
  finally:
    holder.release()


def test_a_stale_lease_is_taken_over_and_logged(tmp_path, caplog):
  caplog.set_level(logging.INFO)
  (tmp_path / '.lock').write_text(json.dumps({
      'owner': 'gone', 'pid': 999999, 'host': 'elsewhere', 'started': 'x',
      'heartbeat': time.time() - 4 * 60.0 - 1}))
  lease = _lease(tmp_path)
  assert lease.acquire() is None
  try:
    assert _record(tmp_path)['pid'] == os.getpid()
    assert any('Took over the lock of an earlier run that is gone (pid 999999 on elsewhere'
               in r.getMessage() for r in caplog.records)
  finally:
    lease.release()


def test_release_removes_the_lease_only_while_it_is_ours(tmp_path):
  lease = _lease(tmp_path)
  lease.acquire()
  lease.release()
  assert not (tmp_path / '.lock').exists()
  lease = _lease(tmp_path)
  lease.acquire()
  (tmp_path / '.lock').write_text(json.dumps({'owner': 'another', 'heartbeat': time.time()}))
  lease.release()
  assert _record(tmp_path)['owner'] == 'another'


def test_the_heartbeat_advances_until_the_lease_is_lost(tmp_path, caplog):
  lease = _lease(tmp_path, interval=0.05)
  lease.acquire()
  try:
    first = _record(tmp_path)['heartbeat']
    time.sleep(0.5)
    assert _record(tmp_path)['heartbeat'] > first
    theirs = {'owner': 'another', 'heartbeat': time.time()}
    (tmp_path / '.lock').write_text(json.dumps(theirs))
    time.sleep(0.5)
    assert _record(tmp_path) == theirs  # a lost lease is never written over
    assert any('Lost the lock' in r.getMessage() for r in caplog.records)
    assert lease.lost.is_set()
  finally:
    lease.release()


def test_a_run_whose_lease_is_lost_stops_without_saving(tmp_path, monkeypatch):
  from tests.training.toys import common, regression  # pylint: disable=g-import-not-at-top
  family_def = regression.family()
  config = common.config(family_def, total_steps=40, ckpt_every=20, log_every=10)
  calls = []
  # As if the lease's heartbeat found another run's record from the fifth call on.
  monkeypatch.setattr(WorkdirLock, 'lost', property(lambda self: calls.append(1) or
                                                    len(calls) >= 5))
  with pytest.raises(WorkdirLostError, match='took over the lock of .* at step 10; this run '
                     'stopped without saving'):
    genjax.train_and_evaluate(family_def, config, str(tmp_path))
  assert not (tmp_path / 'checkpoints').exists() or not os.listdir(tmp_path / 'checkpoints')


def test_of_two_runs_that_claim_at_once_exactly_one_wins(tmp_path):
  leases = [_lease(tmp_path, settle=0.3) for _ in range(2)]
  results = [None, None]

  def claim(i):
    results[i] = leases[i].acquire()

  threads = [threading.Thread(target=claim, args=(i,)) for i in range(2)]
  for t in threads:
    t.start()
  for t in threads:
    t.join(timeout=10)
  assert sorted(r is None for r in results) == [False, True]
  for lease in leases:
    lease.release()
  assert not (tmp_path / '.lock').exists()


def test_metrics_written_whole_read_as_appended_ones(tmp_path, monkeypatch):
  def rows(workdir):
    workdir.mkdir()
    writer = progress_lib.MetricsWriter(str(workdir))
    for step in (1, 2, 3):
      writer.write(step, 'train', {'loss': step})
    resumed = progress_lib.MetricsWriter(str(workdir))  # as a resumed run, from step 2
    resumed.drop_after(2)
    resumed.write(3, 'train', {'loss': 30})
    return progress_lib.read_metrics(os.path.join(workdir, 'metrics.jsonl'))

  appended = rows(tmp_path / 'appended')
  monkeypatch.setattr(storage, 'is_local', lambda path: False)
  assert rows(tmp_path / 'whole') == appended == [
      {'step': 1, 'split': 'train', 'loss': 1.0}, {'step': 2, 'split': 'train', 'loss': 2.0},
      {'step': 3, 'split': 'train', 'loss': 30.0}]


def test_figures_are_drawn_in_a_mirror_of_the_workdir_and_copied_up(tmp_path):
  workdir, mirror = tmp_path / 'workdir', str(tmp_path / 'mirror')
  (workdir / 'artifacts').mkdir(parents=True)
  for step in (1, 2):
    np.savez(workdir / 'artifacts' / f'step_{step}.npz', x=np.full(3, step))
  (workdir / 'metrics.jsonl').write_text('{"step": 2}\n')

  def render_figures(npz_path, out_dir):
    # as the GAN's figures do: every earlier step's artifacts and the metrics beside them
    run = os.path.dirname(os.path.dirname(npz_path))
    steps = sorted(os.listdir(os.path.join(run, 'artifacts')))
    os.makedirs(os.path.join(out_dir, 'more'), exist_ok=True)
    png = os.path.join(out_dir, 'more', 'seen.png')
    with open(png, 'w') as f:
      f.write(f'{steps} {int(np.load(npz_path)["x"][0])} '
              f'{open(os.path.join(run, "metrics.jsonl")).read().strip()}')
    return [png]

  pngs = remote_figures.render(render_figures, str(workdir), 'step_2.npz', mirror)
  assert pngs == [str(workdir / 'figures' / 'more' / 'seen.png')]
  assert open(pngs[0]).read() == "['step_1.npz', 'step_2.npz'] 2 {\"step\": 2}"


# The end to end run on gs://, against a GCS emulator on this machine
# (tests/training/gcs_emulator.py): gcsfs (epath's gs:// backend) and TensorStore (Orbax's
# arrays) both talk to it.
VAE = ['-m', 'experiments.vae', '--config=configs/vae.py:smoke']
# Long enough to be live until the test stops it: it is stopped by SIGTERM after seconds.
LONG = ['--config.total_steps=1000000', '--config.eval_every=0',
        '--config.ckpt_every=100000', '--config.log_every=10000']
WORKDIR = 'gs://bucket/run'


@pytest.fixture
def gcs_emulator(monkeypatch, tmp_path):
  """The environment that points gcsfs and TensorStore at a fresh in-memory GCS, for the
  mains this test starts and for itself."""
  pytest.importorskip('gcp_storage_emulator')
  with socket.socket() as s:
    s.bind(('127.0.0.1', 0))
    port = s.getsockname()[1]
  with open(tmp_path / 'emulator.log', 'w') as log:
    server = subprocess.Popen([sys.executable, '-m', 'tests.training.gcs_emulator', str(port)],
                              cwd=REPO, stdout=log, stderr=subprocess.STDOUT)
  deadline = time.time() + 30
  while True:
    try:
      socket.create_connection(('127.0.0.1', port), timeout=1).close()
      break
    except OSError:
      if time.time() > deadline or server.poll() is not None:
        server.kill()
        raise AssertionError('the GCS emulator did not start:\n' +
                             (tmp_path / 'emulator.log').read_text()[-3000:]) from None
      time.sleep(0.2)
  url = f'http://127.0.0.1:{port}'
  env = {'STORAGE_EMULATOR_HOST': url, 'TENSORSTORE_GCS_HTTP_URL': url,
         # gcsfs asks the real control plane what kind of bucket it is; the emulator has none
         'GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT': 'false'}
  for key, value in env.items():
    monkeypatch.setenv(key, value)
  pytest.importorskip('gcsfs')  # after the environment: it reads it when imported
  yield {**os.environ, **env}
  server.kill()
  server.wait(timeout=30)


def _lines(process) -> queue.Queue:
  """The process's output lines, read in the background (None at its end), so that a wait
  for one can time out even if the process hangs without a word."""
  lines = queue.Queue()
  threading.Thread(target=lambda: [*map(lines.put, process.stdout), lines.put(None)],
                   daemon=True).start()
  return lines


def _read_until(lines: queue.Queue, text: str, timeout: float = 300) -> str:
  """The output up to the first line that holds `text`."""
  seen, deadline = [], time.time() + timeout
  while not seen or text not in seen[-1]:
    try:
      line = lines.get(timeout=max(deadline - time.time(), 0))
    except queue.Empty:
      line = None
    if line is None:
      raise AssertionError(f'{text!r} never appeared:\n' + ''.join(seen)[-3000:])
    seen.append(line)
  return ''.join(seen)


def _main(env, *flags, timeout=300):
  return subprocess.run([sys.executable, *VAE, f'--workdir={WORKDIR}', *flags], cwd=REPO,
                        env=env, capture_output=True, text=True, timeout=timeout)


@pytest.mark.slow
def test_a_run_on_gcs_trains_is_refused_while_live_and_resumes(gcs_emulator):
  first = subprocess.Popen([sys.executable, *VAE, f'--workdir={WORKDIR}', *LONG], cwd=REPO,
                           env=gcs_emulator, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           text=True)
  lines = _lines(first)
  try:
    _read_until(lines, 'compiled the train step')
    second = _main(gcs_emulator, *LONG, '--config.model.latent_dim=5')
    assert second.returncode == 2, second.stderr[-3000:]
    assert (f'{WORKDIR} is in use by another run (pid {first.pid} on'
            in second.stderr.splitlines()[-1])
    first.send_signal(signal.SIGTERM)
    saved = re.search(r'Saved step (\d+) in \S+ after SIGTERM',
                      _read_until(lines, 'after SIGTERM'))
    assert first.wait(timeout=300) == 0
  finally:
    if first.poll() is None:
      first.kill()
  # Resumed at once: the lease was released, or it would still be fresh and refused.
  total = int(saved.group(1)) + 8  # a few steps past the pre-emption, not the million
  resumed = _main(gcs_emulator, *LONG, f'--config.total_steps={total}',
                  f'--config.profile_steps={saved.group(1)}:2')
  assert resumed.returncode == 0, resumed.stdout[-3000:] + resumed.stderr[-3000:]
  assert f'resumed from {WORKDIR}/checkpoints at step {saved.group(1)}' in resumed.stdout
  # Read from here only now: gcsfs caches listings, and this process has not listed yet.
  assert not epath.Path(WORKDIR, '.lock').exists()
  run = load_run(WORKDIR)
  assert run.step == total and run.finished and run.workdir == WORKDIR
  rows = progress_lib.read_metrics(f'{WORKDIR}/metrics.jsonl')
  train = [r['step'] for r in rows if r['split'] == 'train']
  assert train == sorted(set(train)) and train[-1] == total
  assert json.loads(epath.Path(WORKDIR, 'final_metrics.json').read_text())['step'] == total
  assert epath.Path(WORKDIR, 'artifacts', f'step_{total:08d}.npz').exists()
  assert {p.name for p in epath.Path(WORKDIR, 'figures').iterdir()} >= {'samples.png'}
  events = list(epath.Path(WORKDIR, 'tensorboard').glob('events.out.tfevents.*'))
  assert events and all(e.stat().length > 0 for e in events)  # the resumed run's at least
  assert list(epath.Path(WORKDIR, 'profile').glob('plugins/profile/*/*.xplane.pb'))
  model = genjax.load(WORKDIR)
  assert repr(model).startswith(f"TrainedModel('vae', step {total}, from {WORKDIR};")
  assert model.sample(0, 2).shape == (2, 8, 8, 1)


@pytest.mark.slow
def test_a_tree_moves_on_gcs_where_no_folder_exists(gcs_emulator):
  del gcs_emulator
  for name in ('state/x', 'meta'):
    epath.Path(WORKDIR, 'checkpoints', '4', name).write_text(name)
  storage.move_tree(f'{WORKDIR}/checkpoints/4', f'{WORKDIR}/corrupt_checkpoints/4.1')
  fs, _ = fsspec.core.url_to_fs(WORKDIR)
  assert sorted(fs.find(WORKDIR)) == ['bucket/run/corrupt_checkpoints/4.1/meta',
                                      'bucket/run/corrupt_checkpoints/4.1/state/x']
