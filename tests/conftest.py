"""Shared fixtures. absl flags are marked parsed so library code may read them under pytest."""

import os
import sys

import pytest
from absl import flags

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if REPO not in sys.path:
  sys.path.insert(0, REPO)

flags.FLAGS.mark_as_parsed()

# The test runs' subprocesses compile afresh, as CI always does; the cache has its own test.
os.environ['GENJAX_COMPILATION_CACHE'] = ''


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
