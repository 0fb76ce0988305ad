"""What a researcher watches, read back from a smoke run: TensorBoard's event files hold the
metrics.jsonl rows and the figures, a resume purges what it writes again, and
`profile_steps` leaves one profiler trace of its window."""

import glob
import gzip
import json
import os
import shutil
import struct

import jax
import numpy as np
import pytest
from PIL import Image
from tensorboardX.proto import event_pb2
from tensorboardX.record_writer import masked_crc32c

from genjax import config as config_lib
from genjax.families import vae as vae_family
from genjax.training.loop import train_and_evaluate
from genjax.training.profile_window import ProfileWindow


@pytest.fixture(scope='module')
def workdir(tmp_path_factory):
  """A VAE smoke run (8 steps, 2 per call, profile_steps=2:2) killed after writing the rows
  of steps 5..8 but before checkpoint 8, run again (it resumes from step 4), and then
  evaluated again once finished (--final_eval_again)."""
  from configs import vae  # pylint: disable=g-import-not-at-top
  config = vae.get_config('smoke')
  config.unlock()
  config.profile_steps = '2:2'
  workdir = str(tmp_path_factory.mktemp('watched'))
  train_and_evaluate(vae_family.FAMILY, config, workdir)
  shutil.rmtree(os.path.join(workdir, 'checkpoints', '8'))
  os.remove(os.path.join(workdir, 'final_metrics.json'))
  train_and_evaluate(vae_family.FAMILY, config, workdir)
  train_and_evaluate(vae_family.FAMILY, config, workdir, final_eval_again=True)
  return workdir


def _event_files(workdir):
  """In name order, the order TensorBoard reads them in."""
  return sorted(glob.glob(os.path.join(workdir, 'tensorboard', 'events.out.tfevents.*')))


def _events(path):
  """The TFRecords of an event file: uint64 length, its masked CRC-32C, the Event, its CRC."""
  with open(path, 'rb') as f:
    data = f.read()
  offset = 0
  while offset < len(data):
    header = data[offset:offset + 8]
    (length,) = struct.unpack('<Q', header)
    (header_crc,) = struct.unpack_from('<I', data, offset + 8)
    payload = data[offset + 12:offset + 12 + length]
    (payload_crc,) = struct.unpack_from('<I', data, offset + 12 + length)
    assert header_crc == masked_crc32c(header) and payload_crc == masked_crc32c(payload)
    offset += 12 + length + 4
    yield event_pb2.Event.FromString(payload)


def _shown(workdir):
  """{(tag, step): summary value} as TensorBoard shows the files: a session restart at step
  p (what a purge_step writes) hides every earlier event at step p or later."""
  shown = {}
  for path in _event_files(workdir):
    for event in _events(path):
      if event.session_log.status == event_pb2.SessionLog.START:
        shown = {key: v for key, v in shown.items() if key[1] < event.step}
      for value in event.summary.value:
        assert (value.tag, event.step) not in shown
        shown[value.tag, event.step] = value
  return shown


def _rows(workdir):
  with open(os.path.join(workdir, 'metrics.jsonl')) as f:
    return [json.loads(line) for line in f]


def test_the_scalars_are_the_metrics_rows(workdir):
  expected = {(f"{row['split']}/{name}", row['step']): np.float32(value)
              for row in _rows(workdir)
              for name, value in row.items() if name not in ('step', 'split')}
  shown = {key: np.float32(v.simple_value) for key, v in _shown(workdir).items()
           if not key[0].startswith('figures/')}
  assert shown == expected
  assert {'train/loss', 'test/elbo', 'test_final/iwae_8'} <= {tag for tag, _ in shown}


def _purge_step(path):
  """The step of the purge (a session restart) a file opens with."""
  opening = list(_events(path))[:3]
  assert opening[1].file_version == 'brain.Event:2'
  assert opening[2].session_log.status == event_pb2.SessionLog.START
  assert opening[1].step == opening[2].step
  return opening[2].step


def _steps(path, tag):
  return [e.step for e in _events(path) if any(v.tag == tag for v in e.summary.value)]


def test_a_resume_purges_the_steps_it_writes_again(workdir):
  first, resumed, _ = _event_files(workdir)
  assert _steps(first, 'train/loss') == [2, 4, 6, 8]  # 6 and 8 come again from step 4
  assert _purge_step(resumed) == 5 and _steps(resumed, 'train/loss') == [6, 8]
  assert sorted(step for tag, step in _shown(workdir) if tag == 'train/loss') == [2, 4, 6, 8]


def test_evaluating_again_purges_the_final_step_and_keeps_its_other_rows(workdir):
  """A purge hides whole steps: step 8 goes, and its train and test rows come back."""
  _, _, again = _event_files(workdir)
  assert _purge_step(again) == 8
  assert _steps(again, 'train/loss') == _steps(again, 'test_final/iwae_8') == [8]


def test_the_figures_are_images(workdir):
  images = {tag: (step, v.image) for (tag, step), v in _shown(workdir).items()
            if tag.startswith('figures/')}
  assert set(images) == {'figures/samples', 'figures/reconstructions',
                         'figures/interpolation'}
  for tag, (step, image) in images.items():
    with Image.open(os.path.join(workdir, 'figures', tag.split('/')[1] + '.png')) as png:
      assert (image.width, image.height) == png.size
    assert step == 8 and image.encoded_image_string.startswith(b'\x89PNG')


def test_profile_steps_traces_its_window_once(workdir):
  """Steps 2..4 are one call, traced by the first run; the resumed run starts past them."""
  (trace,) = glob.glob(os.path.join(workdir, 'profile', 'plugins', 'profile', '*'))
  (xplane,) = glob.glob(os.path.join(trace, '*.xplane.pb'))
  assert os.path.getsize(xplane) > 0
  assert os.path.exists(os.path.join(trace, 'perfetto_trace.json.gz'))
  (host_trace,) = glob.glob(os.path.join(trace, '*.trace.json.gz'))
  with gzip.open(host_trace) as f:
    steps = [e['args']['step_num'] for e in json.load(f)['traceEvents']
             if e.get('name') == 'train']
  assert steps == ['2']


def test_a_run_that_raises_inside_the_window_still_writes_its_trace(tmp_path):
  add_one = jax.jit(lambda x: x + 1)

  class Stopped(Exception):
    pass

  with pytest.raises(Stopped):
    with ProfileWindow('0:100', 1, str(tmp_path)) as window:
      for step in range(3):
        with window.train_call(step):
          out = add_one(step)
        window.call_done(step + 1, out)
      raise Stopped
  assert glob.glob(str(tmp_path / 'profile' / 'plugins' / 'profile' / '*' / '*.xplane.pb'))
  jax.profiler.start_trace(str(tmp_path / 'again'))  # the profiler was left free
  jax.profiler.stop_trace()


@pytest.mark.parametrize('profile_steps', ['abc', '10', '10:0', '-1:5', '1:2:3'])
def test_a_malformed_profile_steps_is_one_line_naming_the_form(tmp_path, smoke_config,
                                                               profile_steps):
  smoke_config.profile_steps = profile_steps
  with pytest.raises(config_lib.ConfigError) as e:
    train_and_evaluate(vae_family.FAMILY, smoke_config, str(tmp_path))
  assert str(e.value).startswith(f'profile_steps={profile_steps}: expected START:COUNT')
  assert '--config.profile_steps=10:5' in str(e.value) and '\n' not in str(e.value)
