"""The absl entry point shared by every experiment main.

    python -m experiments.vae --config=configs/vae.py:smoke --workdir=runs/smoke \
        --config.model.latent_dim=2

Several hosts: run the same command on each with --coordinator_address, --num_processes
and --process_id (on TPU pods and SLURM, jax.distributed finds these by itself and the
flags may be left out).
"""

from __future__ import annotations

import functools
import logging as pylogging
import sys
from typing import Callable

from absl import app, flags, logging
from ml_collections import config_flags

from genjax.training.mesh import initialize_distributed

_CONFIG = config_flags.DEFINE_config_file('config', None, 'configs/<name>.py[:variants]',
                                          lock_config=True)
_WORKDIR = flags.DEFINE_string('workdir', None, 'Where checkpoints, metrics and figures go; '
                               'a run resumes from it.')
_COORDINATOR = flags.DEFINE_string('coordinator_address', '', 'host:port of process 0.')
_NUM_PROCESSES = flags.DEFINE_integer('num_processes', 1, 'Processes (hosts) in the run.')
_PROCESS_ID = flags.DEFINE_integer('process_id', 0, 'This process, 0 .. num_processes-1.')


class _QuietLibraries(pylogging.Filter):
  """Keeps the progress lines readable: library INFO chatter (Orbax logs every file it
  writes) is dropped, its warnings and errors kept."""

  def filter(self, record):
    return record.levelno >= pylogging.WARNING or '/genjax/' in record.pathname


def train(family_def) -> None:
  """The whole main of an experiment that trains one model of `family_def`."""
  from genjax.training.loop import train_and_evaluate  # pylint: disable=g-import-not-at-top
  run(functools.partial(train_and_evaluate, family_def))


def run(experiment: Callable[..., object]) -> None:
  """Parses flags, joins the distributed run if asked, and calls experiment(config, workdir)."""
  flags.mark_flags_as_required(['config', 'workdir'])

  def main(argv):
    if len(argv) > 1:
      raise app.UsageError(f'Unexpected arguments: {argv[1:]}')
    handler = logging.get_absl_handler()
    handler.python_handler.stream = sys.stdout
    handler.addFilter(_QuietLibraries())
    initialize_distributed(_COORDINATOR.value, _NUM_PROCESSES.value, _PROCESS_ID.value)
    experiment(_CONFIG.value, _WORKDIR.value)

  app.run(main)
