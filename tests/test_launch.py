"""The entry point: which log records it keeps, and the help it gives."""

import logging
import os
import subprocess
import sys

import pytest

from genjax import launch

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _record(name, level):
  return logging.LogRecord(name, level, '/x/genjax/.venv/lib/orbax/checkpoint_manager.py', 1,
                           'msg', (), None)


def test_the_log_keeps_genjax_records_by_logger_name_and_every_warning():
  keep = launch._GenjaxRecordsOnly().filter  # pylint: disable=protected-access
  assert keep(_record('genjax.training.loop', logging.INFO))
  # Orbax logs through absl; from a clone in a folder named genjax its path holds /genjax/.
  assert not keep(_record('absl', logging.INFO))
  assert keep(_record('absl', logging.WARNING))


@pytest.mark.slow
def test_config_help_lists_the_fields_and_variants():
  result = subprocess.run([sys.executable, '-m', 'experiments.vae',
                           '--config=configs/vae.py:z2', '--config_help'], cwd=REPO,
                          capture_output=True, text=True, timeout=300)
  assert result.returncode == 0, result.stderr[-2000:]
  assert 'Variants, comma-separated' in result.stdout  # the config's own docstring
  assert 'latent_dim: 2\n' in result.stdout and 'ckpt_every_minutes: 10.0' in result.stdout
  helped = subprocess.run([sys.executable, '-m', 'experiments.vae', '--help'], cwd=REPO,
                          capture_output=True, text=True, timeout=300)
  assert '--config_help' in helped.stdout + helped.stderr


@pytest.mark.slow
def test_a_rerun_loads_its_compiled_steps_from_the_persistent_cache(tmp_path):
  cache = tmp_path / 'cache'
  run = lambda workdir: subprocess.run(
      [sys.executable, '-m', 'experiments.vae', '--config=configs/vae.py:smoke',
       f'--workdir={tmp_path / workdir}', f'--compilation_cache={cache}'], cwd=REPO,
      capture_output=True, text=True, timeout=300,
      # Every program cached: whether one compiles in over 0.5 s depends on the load.
      env={**os.environ, 'GENJAX_CACHE_MIN_COMPILE_SECONDS': '0'})
  first = run('first')
  assert first.returncode == 0, first.stderr[-2000:]
  entries = set(os.listdir(cache))
  assert entries  # the compiled train and eval steps
  second = run('second')
  assert second.returncode == 0, second.stderr[-2000:]
  assert set(os.listdir(cache)) == entries  # the same programs, found and not added again
