"""The entry point: which log records it keeps, and the help it gives."""

import logging
import os
import subprocess
import sys

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


def test_config_help_lists_the_fields_and_variants():
  result = subprocess.run([sys.executable, '-m', 'experiments.vae', '--config=configs/vae.py',
                           '--config_help'], cwd=REPO, capture_output=True, text=True,
                          timeout=300)
  assert result.returncode == 0, result.stderr[-2000:]
  assert 'Variants, comma-separated' in result.stdout  # the config's own docstring
  assert 'latent_dim: 20' in result.stdout and 'ckpt_every_minutes: 10.0' in result.stdout
  helped = subprocess.run([sys.executable, '-m', 'experiments.vae', '--help'], cwd=REPO,
                          capture_output=True, text=True, timeout=300)
  assert '--config_help' in helped.stdout + helped.stderr
