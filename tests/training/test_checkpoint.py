"""The checkpointer moves a checkpoint aside only when it is corrupt (its digest fails or its
files do not parse), and only on process 0; any other error reaches the caller and leaves
the checkpoint where it is."""

import errno
import json
import logging
import os

import jax
import jax.numpy as jnp
import numpy as np
import orbax.checkpoint as ocp
import pytest

from genjax.training import checkpoint
from genjax.training.checkpoint import Checkpointer, CheckpointReadError
from genjax.training.state import TrainState


def _state(step):
  rng = jax.random.PRNGKey(step)
  # Random values, so that the data files hold them uncompressed and a flipped byte in the
  # middle of one lands in an array.
  return TrainState(step=jnp.asarray(step, jnp.int32),
                    params={'w': jax.random.normal(rng, (2000,)), 'b': jnp.ones((3,))},
                    opt_state=None, ema_params=None, rng=jax.random.PRNGKey(0))


def _checkpointer(workdir):
  return Checkpointer(str(workdir), keep=5, signature={'model': 'toy'})


@pytest.fixture
def workdir(tmp_path):
  """A workdir holding checkpoints of steps 2 and 4."""
  saver = _checkpointer(tmp_path)
  for step in (2, 4):
    saver.save(_state(step), data_position=step)
  saver.close()
  return tmp_path


def _restored_step(workdir):
  restorer = _checkpointer(workdir)
  try:
    state, meta = restorer.restore_latest(_state(0))
  finally:
    restorer.close()
  assert int(state.step) == meta['step']
  np.testing.assert_array_equal(state.params['w'], _state(meta['step']).params['w'])
  return meta['step']


def _moved_aside(workdir):
  corrupt = workdir / 'corrupt_checkpoints'
  return sorted(os.listdir(corrupt)) if corrupt.exists() else []


def _in_place(workdir, step):
  return (workdir / 'checkpoints' / str(step) / 'state').is_dir()


def _orbax_wrapped(cause):
  """What Orbax raises when TensorStore fails to read an array: a bare Exception from it."""
  try:
    raise cause
  except BaseException as e:  # pylint: disable=broad-except
    try:
      raise Exception('Encountered error while reading array index: (slice(0, 2000, 1),).'
                      ) from e  # pylint: disable=broad-exception-raised
    except Exception as wrapped:  # pylint: disable=broad-except
      return wrapped


_READ = 'Error reading "params.w/0" in OCDBT database at local file "/w/checkpoints/4/state/": '
# TensorStore's messages as it words them for a failed system call (the installed version
# writes os_error_code, older ones `[OS error N: ...]`).
_NOT_CORRUPTION = {
    'EIO': lambda: OSError(errno.EIO, 'Input/output error'),
    'EACCES': lambda: PermissionError(errno.EACCES, 'Permission denied'),
    'MemoryError': MemoryError,
    'TensorStore EIO': lambda: _orbax_wrapped(ValueError(
        f'UNKNOWN: {_READ}Failed to open: "/w/d/1": Input/output error [os_error_code=\'5\']')),
    'TensorStore EACCES': lambda: _orbax_wrapped(ValueError(
        f'PERMISSION_DENIED: {_READ}Failed to open: "/w/d/1": Permission denied '
        "[os_error_code='13']")),
    'TensorStore EBUSY': lambda: _orbax_wrapped(ValueError(
        f'FAILED_PRECONDITION: {_READ}Device or resource busy [os_error_code=\'16\']')),
    'older TensorStore EBUSY': lambda: _orbax_wrapped(ValueError(
        f'FAILED_PRECONDITION: {_READ}[OS error 16: EBUSY Device or resource busy]')),
    'TensorStore unavailable': lambda: _orbax_wrapped(ValueError(
        f'UNAVAILABLE: {_READ}connection reset')),
    'wrapped MemoryError': lambda: _orbax_wrapped(MemoryError()),
    'wrapped KeyboardInterrupt': lambda: _orbax_wrapped(KeyboardInterrupt()),
    'anything else': lambda: RuntimeError('something unforeseen'),
}


@pytest.mark.parametrize('item', ['meta', 'state'])
@pytest.mark.parametrize('name', list(_NOT_CORRUPTION))
def test_an_error_that_is_not_corruption_reaches_the_caller_and_moves_nothing(
    workdir, monkeypatch, caplog, name, item):
  error = _NOT_CORRUPTION[name]()
  original, raised = ocp.CheckpointManager.restore, []

  def restore_failing_once(self, step, *args, **kwargs):
    if not raised and item in kwargs['args'].keys():
      raised.append(step)
      raise error
    return original(self, step, *args, **kwargs)

  monkeypatch.setattr(ocp.CheckpointManager, 'restore', restore_failing_once)
  restorer = _checkpointer(workdir)
  with pytest.raises(type(error)) as caught:
    restorer.restore_latest(_state(0))
  restorer.close()
  assert caught.value is error and raised == [4]
  assert _in_place(workdir, 4) and _moved_aside(workdir) == []
  assert any('Could not read checkpoint 4' in r.getMessage() and 'left in place' in
             r.getMessage() for r in caplog.records if r.levelno == logging.ERROR)
  assert _restored_step(workdir) == 4  # the error has passed: the same checkpoint reads


def _deny(path):
  os.chmod(path, 0)


def _allow(path):
  os.chmod(path, 0o644)


@pytest.mark.skipif(os.geteuid() == 0, reason='root reads files whatever their mode')
@pytest.mark.parametrize('unreadable', ['run metadata', 'array data'])
def test_a_file_it_may_not_read_leaves_the_checkpoint_in_place(workdir, unreadable):
  step_dir = workdir / 'checkpoints' / '4'
  path = step_dir / 'meta' / 'metadata' if unreadable == 'run metadata' else (
      _biggest_data_file(step_dir))
  _deny(path)
  restorer = _checkpointer(workdir)
  with pytest.raises(Exception) as caught:  # pylint: disable=broad-exception-caught
    restorer.restore_latest(_state(0))
  restorer.close()
  assert any(isinstance(e, PermissionError) or 'PERMISSION_DENIED' in str(e)
             for e in checkpoint._chain(caught.value))
  assert _in_place(workdir, 4) and _moved_aside(workdir) == []
  _allow(path)
  assert _restored_step(workdir) == 4


def _files(directory):
  return [os.path.join(root, name) for root, _, names in os.walk(directory) for name in names]


def _biggest_data_file(step_dir):
  return max((f for f in _files(step_dir / 'state') if f'{os.sep}d{os.sep}' in f),
             key=os.path.getsize)


def _flip_middle_byte(path):
  data = bytearray(open(path, 'rb').read())
  data[len(data) // 2] ^= 0x10
  open(path, 'wb').write(bytes(data))


def _truncate(path):
  data = open(path, 'rb').read()
  open(path, 'wb').write(data[:len(data) // 2])


def _garble(path):
  size = os.path.getsize(path)
  open(path, 'wb').write(np.random.default_rng(0).integers(0, 256, size, np.uint8).tobytes())


_CORRUPTIONS = {
    'a flipped byte in the array data': lambda d: _flip_middle_byte(_biggest_data_file(d)),
    'truncated array data': lambda d: _truncate(_biggest_data_file(d)),
    'missing array data': lambda d: os.remove(_biggest_data_file(d)),
    'a garbled OCDBT manifest': lambda d: _garble(d / 'state' / 'manifest.ocdbt'),
    'truncated Orbax metadata': lambda d: _truncate(d / 'state' / '_METADATA'),
    'Orbax metadata without its fields': lambda d: (d / 'state' / '_METADATA').write_text('{}'),
    'missing Orbax metadata': lambda d: os.remove(d / 'state' / '_METADATA'),
    'garbled array metadata': lambda d: _garble(_files(d / 'state' / 'array_metadatas')[0]),
    'garbled run metadata': lambda d: _garble(d / 'meta' / 'metadata'),
    'missing run metadata': lambda d: os.remove(d / 'meta' / 'metadata'),
    'empty run metadata': lambda d: (d / 'meta' / 'metadata').write_text('{}'),
    'arrays that do not match their digest': lambda d: _rewrite_digest(d),
}


def _rewrite_digest(step_dir):
  path = step_dir / 'meta' / 'metadata'
  meta = json.loads(path.read_text())
  meta['digest'][0] ^= 1
  path.write_text(json.dumps(meta))


# Orbax leaves its other reads of a checkpoint unawaited once one fails.
@pytest.mark.filterwarnings('ignore::pytest.PytestUnraisableExceptionWarning')
@pytest.mark.parametrize('corruption', list(_CORRUPTIONS))
def test_a_corrupt_checkpoint_is_moved_aside_and_the_previous_one_restored(
    workdir, caplog, corruption):
  _CORRUPTIONS[corruption](workdir / 'checkpoints' / '4')
  assert _restored_step(workdir) == 2
  assert not (workdir / 'checkpoints' / '4').exists()
  assert [name.split('.')[0] for name in _moved_aside(workdir)] == ['4']
  assert any('Checkpoint 4 is unusable' in r.getMessage() for r in caplog.records)
  assert _restored_step(workdir) == 2  # and it stays aside


def test_only_process_0_moves_a_corrupt_checkpoint_but_every_process_skips_it(
    workdir, monkeypatch):
  _truncate(_biggest_data_file(workdir / 'checkpoints' / '4'))
  monkeypatch.setattr(jax, 'process_index', lambda: 1)
  assert _restored_step(workdir) == 2
  assert _in_place(workdir, 4) and _moved_aside(workdir) == []


def _other_host_says(monkeypatch, verdict_of_step_4):
  """As if a second process had read each step too, and judged step 4 `verdict_of_step_4`."""
  seen = []

  def agree(self, verdict):
    seen.append(verdict)
    return [verdict, verdict_of_step_4 if len(seen) == 1 else checkpoint._OK]

  monkeypatch.setattr(Checkpointer, '_agree', agree)
  return seen


def test_a_checkpoint_another_host_finds_corrupt_is_skipped_here_too(workdir, monkeypatch):
  seen = _other_host_says(monkeypatch, checkpoint._CORRUPT)
  assert _restored_step(workdir) == 2
  assert seen == [checkpoint._OK, checkpoint._OK]  # step 4 read fine on this host
  assert [name.split('.')[0] for name in _moved_aside(workdir)] == ['4']


def test_a_checkpoint_another_host_cannot_read_stops_this_one_too(workdir, monkeypatch):
  _other_host_says(monkeypatch, checkpoint._FAILED)
  restorer = _checkpointer(workdir)
  with pytest.raises(CheckpointReadError, match=r'Process 1 could not read .*/4 .*left in '
                     'place'):
    restorer.restore_latest(_state(0))
  restorer.close()
  assert _in_place(workdir, 4) and _moved_aside(workdir) == []
