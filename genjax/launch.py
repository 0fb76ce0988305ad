"""The absl entry point shared by every experiment main.

    python -m experiments.vae --config=configs/vae.py:smoke --workdir=runs/smoke \
        --config.model.latent_dim=2

Several hosts: run the same command on each with --coordinator_address, --num_processes
and --process_id; on TPU pod slices and under SLURM, --num_processes=0 lets
jax.distributed find them itself.

An error the user can fix (a config field, the data, the workdir, a checkpoint) prints
one line, `error: <what and the remedy>`, and exits with status 2; --debug (or
GENJAX_DEBUG=1) shows its traceback too. SIGTERM saves a checkpoint and exits with 0.
"""

from __future__ import annotations

import logging as pylogging
import os
import sys
from typing import Callable

from absl import app, flags, logging
from ml_collections import config_flags

from genjax.cli_errors import exit_with, parse_flags, user_errors_in_one_line
from genjax.training.mesh import initialize_distributed
from genjax.training.preemption import Preempted

_CONFIG = config_flags.DEFINE_config_file(
    'config', None, 'configs/<name>.py[:variants]; add --config_help to list its fields.',
    lock_config=True)
_WORKDIR = flags.DEFINE_string('workdir', None, 'Where checkpoints, metrics and figures go; '
                               'a run resumes from it.')
_CONFIG_HELP = flags.DEFINE_bool('config_help', False, 'Print the config\'s fields with '
                                 'their values and its variants, then exit.')
_FINAL_EVAL_AGAIN = flags.DEFINE_bool('final_eval_again', False, 'A finished run evaluates '
                                      'again instead of reporting its saved final metrics.')
_COMPILATION_CACHE = flags.DEFINE_string(
    'compilation_cache',
    os.environ.get('GENJAX_COMPILATION_CACHE',
                   os.path.join(os.path.expanduser('~'), '.cache', 'genjax', 'jax')),
    'JAX\'s persistent compilation cache: a rerun or a resume loads compiled steps from '
    'here instead of compiling again. Empty disables it (so does '
    'GENJAX_COMPILATION_CACHE=).')
_COORDINATOR = flags.DEFINE_string('coordinator_address', '', 'host:port of process 0.')
_NUM_PROCESSES = flags.DEFINE_integer('num_processes', 1, 'Processes (hosts) in the run; 0 '
                                      'lets JAX find them (TPU pod slices, SLURM).')
_PROCESS_ID = flags.DEFINE_integer('process_id', 0, 'This process, 0 .. num_processes-1.')
_JOIN_TIMEOUT = flags.DEFINE_integer('join_timeout_seconds', 300, 'How long a process waits '
                                     'for the others to join before it stops with an error.')

_logger = pylogging.getLogger(__name__)  # a genjax record: the launcher shows it


class _GenjaxRecordsOnly(pylogging.Filter):
  """Keeps the progress lines readable: other libraries' INFO chatter (Orbax logs every
  file it writes) is dropped, their warnings and errors kept. genjax's modules log through
  Python loggers named after them, so their records are told by the logger's name."""

  def filter(self, record):
    return (record.levelno >= pylogging.WARNING or record.name == 'genjax'
            or record.name.startswith('genjax.'))


def _config_help(config) -> str:
  module_doc = ''
  path = flags.FLAGS['config'].value and flags.FLAGS['config'].config_filename
  if path:
    path = path.split(':')[0]  # config_flags leaves the variant on the file name
    with open(path) as f:
      import ast  # pylint: disable=g-import-not-at-top
      module_doc = ast.get_docstring(ast.parse(f.read())) or ''
  return f'{module_doc}\n\nFields (override with --config.<field>=<value>):\n{config}'


def use_compilation_cache(directory: str) -> None:
  """Turns on JAX's persistent compilation cache in `directory` ('' leaves it off).

  Measured on the diffusion smoke run (CPU; README.md has the command): the train step's
  compile and first call took 16.2 s cold and 3.8 s from the cache, the whole run 50 s
  against 15 s.
  """
  if not directory:
    return
  import jax  # pylint: disable=g-import-not-at-top
  jax.config.update('jax_compilation_cache_dir', directory)
  # Cache every step that takes noticeable time; the default skips those under 1 s.
  # GENJAX_CACHE_MIN_COMPILE_SECONDS=0 caches every program, whatever the machine's load.
  jax.config.update('jax_persistent_cache_min_compile_time_secs',
                    float(os.environ.get('GENJAX_CACHE_MIN_COMPILE_SECONDS', '0.5')))


def final_eval_again() -> bool:
  """Whether --final_eval_again was given: finished runs evaluate again."""
  return _FINAL_EVAL_AGAIN.value


def train(family_def, *, upstream=None) -> None:
  """The whole main of an experiment that trains one model of `family_def` (see
  `experiment`)."""
  run(experiment(family_def, upstream=upstream))


def experiment(family_def, *, upstream=None) -> Callable[..., object]:
  """experiment(config, workdir) that trains `family_def`, as `run` calls it.

  `upstream`: (the upstream family, spec -> its config) for a second stage whose smoke
  runs train their own first stage. With `data.stage1_workdir` empty and
  `data.stage1_config` set, the first stage trains through the same loop into
  `<workdir>/stage1` (a rerun finds it finished), then `family_def` over it; without
  either, the family's one-line refusal stands.
  """
  from genjax.training.assemble import check_family  # pylint: disable=g-import-not-at-top
  from genjax.training.loop import train_and_evaluate  # pylint: disable=g-import-not-at-top

  def train_run(config, workdir: str):
    label = ''
    if upstream is not None and not config.data.stage1_workdir and config.data.stage1_config:
      check_family(config, family_def)  # a bad stage-2 field fails before stage 1 trains
      upstream_def, upstream_config = upstream
      spec, stage1_workdir = config.data.stage1_config, os.path.join(workdir, 'stage1')
      _logger.info('No --config.data.stage1_workdir: training the upstream stage 1 first, '
                   'as python -m experiments.%s --config=configs/%s.py:%s --workdir=%s',
                   upstream_def.name, upstream_def.name, spec, stage1_workdir)
      train_and_evaluate(upstream_def, upstream_config(spec), stage1_workdir,
                         label=f'upstream stage 1 of 2 ({upstream_def.name}:{spec})')
      config = config.copy_and_resolve_references()
      config.data.stage1_workdir = stage1_workdir
      label = f'stage 2 of 2 ({family_def.name})'
      _logger.info('Stage 1 finished in %s; training the %s over it.', stage1_workdir,
                   family_def.name)
    return train_and_evaluate(family_def, config, workdir,
                              final_eval_again=_FINAL_EVAL_AGAIN.value, label=label)

  return train_run


_USAGE = """
    python -m experiments.<name> --config=configs/<name>.py[:variants] --workdir=DIR \\
        [--config.<field>=<value> ...]

  --config_help         the config's fields with their values, and its variants
  --workdir             checkpoints, metrics and figures; a run resumes from it
  --final_eval_again    a finished run evaluates again
  --compilation_cache   where compiled steps are kept for reruns (default ~/.cache/genjax/jax)
  --debug               tracebacks for errors in the input too
"""


def run(experiment: Callable[..., object]) -> None:
  """Parses flags, joins the distributed run if asked, and calls experiment(config, workdir)."""
  main_module = sys.modules.get('__main__')
  if main_module is not None:  # absl's --help prints the main's docstring
    main_module.__doc__ = (main_module.__doc__ or '').rstrip() + '\n' + _USAGE

  def main(argv):
    if len(argv) > 1:
      exit_with(f'Unexpected arguments: {argv[1:]}; flags are written --name=value.')
    if _CONFIG.value is None:
      exit_with('--config is required, e.g. --config=configs/vae.py:smoke.')
    if _CONFIG_HELP.value:
      print(_config_help(_CONFIG.value))
      return
    if _WORKDIR.value is None:
      exit_with('--workdir is required: where checkpoints, metrics and figures go.')
    handler = logging.get_absl_handler()
    handler.python_handler.stream = sys.stdout
    handler.addFilter(_GenjaxRecordsOnly())
    pylogging.getLogger('genjax').setLevel(pylogging.INFO)
    use_compilation_cache(_COMPILATION_CACHE.value)
    try:
      initialize_distributed(_COORDINATOR.value, _NUM_PROCESSES.value, _PROCESS_ID.value,
                             _JOIN_TIMEOUT.value)
      experiment(_CONFIG.value, _WORKDIR.value)
    except Preempted as e:
      logging.warning('%s', e)

  app.run(user_errors_in_one_line(main), flags_parser=parse_flags)

