"""Shared fixtures. absl flags are marked parsed so library code may read them under pytest."""

import os
import shutil
import sys
import tempfile

import pytest
from absl import flags

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if REPO not in sys.path:
  sys.path.insert(0, REPO)

flags.FLAGS.mark_as_parsed()

from genjax.launch import use_compilation_cache  # noqa: E402  (after sys.path has REPO)

# The experiment mains that tests start, and the tests that train in process, share one
# persistent compilation cache for the session, empty when it starts: every program is
# still compiled once, as in CI, and a later run of the same model (a resume, a fault
# injected into a smoke run, the second process layout) loads it instead of compiling it
# again. xdist workers are children of the controller, which removes the cache at the
# end. The cache itself has its own test.
_SESSION_PID = os.getppid() if 'PYTEST_XDIST_WORKER' in os.environ else os.getpid()
_CACHE = os.path.join(tempfile.gettempdir(), f'genjax-test-compilation-cache-{_SESSION_PID}')
os.environ['GENJAX_COMPILATION_CACHE'] = _CACHE
# Tests that train in process use it too (the mains' own setting, genjax.launch).
use_compilation_cache(_CACHE)


def pytest_sessionfinish(session, exitstatus):
  del session, exitstatus
  if 'PYTEST_XDIST_WORKER' not in os.environ:
    shutil.rmtree(_CACHE, ignore_errors=True)


@pytest.fixture
def smoke_config():
  """configs/vae.py:smoke, unlocked so a test may change fields."""
  from configs import vae  # pylint: disable=g-import-not-at-top
  c = vae.get_config('smoke')
  c.unlock()
  return c


@pytest.fixture
def digits_info():
  """What a family's `build` learns of the data, for the 8x8 digits."""
  from genjax import data as data_lib  # pylint: disable=g-import-not-at-top
  from genjax.training.family import DataInfo  # pylint: disable=g-import-not-at-top
  test = data_lib.load_image_dataset('digits', 'test')
  return DataInfo(num_train=1500, num_classes=test.num_classes,
                  example_shape=test.images.shape[1:], test=test)
