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

# Every test process, and every main a test starts, compiles for speed (tests/xla_flags.py).
from tests.xla_flags import FAST_COMPILE  # noqa: E402  (after sys.path has REPO)

if FAST_COMPILE not in os.environ.get('XLA_FLAGS', ''):
  os.environ['XLA_FLAGS'] = f"{os.environ.get('XLA_FLAGS', '')} {FAST_COMPILE}".strip()

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
# Every program, not only those that compile in over 0.5 s: at optimisation level 0 most
# of a smoke run's programs compile faster than that, and every main a test starts would
# compile them again (a rerun of the glow smoke run took 5.8 s of CPU against 8.3 s).
os.environ.setdefault('GENJAX_CACHE_MIN_COMPILE_SECONDS', '0')
# Tests that train in process use it too (the mains' own setting, genjax.launch).
use_compilation_cache(_CACHE)
# The smoke runs that several tests read (tests/smoke_runs.py), trained once per session
# and removed with the cache.
SMOKE_RUNS = os.path.join(tempfile.gettempdir(), f'genjax-test-smoke-runs-{_SESSION_PID}')


# The longest tests, slowest first as CI measured them, each without module fixtures: run
# first, so that with `-n 2` neither worker is left with a long one at the end while the
# other idles (longest-processing-time-first). xdist hands the first quarter of the tests
# out in turn, the rest to whichever worker is free.
SLOW_FIRST = (
    'tests/experiments/test_smoke.py::test_diffusion_tools_score_a_smoke_run_with_a_smoke',
    'tests/experiments/test_likelihood_table.py',
    'tests/training/test_multihost.py::test_two_processes_match_one_and_share_checkpoints',
    'tests/training/test_fsdp.py::test_a_sharded_step_equals_the_replicated_one',
    'tests/evals/test_frechet_setup.py::test_inception_features_score_against_the_test',
    'tests/docs/test_quickstart.py',
    'tests/families/test_var.py::test_var_and_the_raster_prior_train_on_the_same_tokens',
    'tests/training/test_renamed_family.py',
    'tests/experiments/test_smoke.py::test_smoke_variant_runs_end_to_end[vae_paper]',
    'tests/experiments/test_smoke.py::test_smoke_variant_runs_end_to_end[autoencoder_pca]',
    'tests/experiments/test_smoke.py::test_smoke_variant_runs_end_to_end[bayes_classifier]',
    'tests/experiments/test_smoke.py::test_smoke_variant_runs_end_to_end[var]',
    'tests/experiments/test_smoke.py::test_smoke_variant_runs_end_to_end[code_prior]',
    'tests/experiments/test_char_lm.py',
)


def pytest_collection_modifyitems(session, config, items):
  del session, config
  rank = lambda item: next((i for i, prefix in enumerate(SLOW_FIRST)
                            if item.nodeid.startswith(prefix)), len(SLOW_FIRST))
  items.sort(key=rank)  # stable: every other test keeps its place


def pytest_sessionfinish(session, exitstatus):
  del session, exitstatus
  if 'PYTEST_XDIST_WORKER' not in os.environ:
    shutil.rmtree(_CACHE, ignore_errors=True)
    shutil.rmtree(SMOKE_RUNS, ignore_errors=True)


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
  from genjax.data.family_data import DataInfo  # pylint: disable=g-import-not-at-top
  test = data_lib.load_image_dataset('digits', 'test')
  return DataInfo(num_train=1500, num_classes=test.num_classes,
                  example_shape=test.images.shape[1:], test_images=test)
