"""One table of the generation paradigms under one data set, parameter budget and training
compute, with a figure of their samples side by side and one of the Fréchet distance
against sampling steps (`genjax.tools.paradigms`).

    python -m experiments.paradigms --config=configs/paradigms.py --out_dir=results/paradigms

Writes table.md, table.json, samples.png and fd_vs_steps.png into --out_dir. A row whose
parameters or training FLOPs lie outside --tolerance of the rows' median is refused. Each
row's measurements are kept in --out_dir/measured/ as it finishes, so a stopped table run
again with the same runs and options starts at the row it was on.
"""

import os

from absl import app, flags, logging
from ml_collections import config_flags

from genjax import cli_errors
from genjax.tools import paradigms

_CONFIG = config_flags.DEFINE_config_file('config', 'configs/paradigms.py',
                                          'which runs make the rows.')
_OUT_DIR = flags.DEFINE_string('out_dir', 'results/paradigms', 'where to write the table.')
_TOLERANCE = flags.DEFINE_float('tolerance', 0.1, 'How far (a fraction) a row\'s parameters '
                                'and training FLOPs may lie from the rows\' median.')
_FRECHET_SAMPLES = flags.DEFINE_integer('frechet_samples', 1000,
                                        'Samples (and train images for the floor) a '
                                        'Fréchet distance scores.')
_LIKELIHOOD_EXAMPLES = flags.DEFINE_integer('likelihood_examples', 500,
                                            'The first n test images scored (0: all).')
_BATCH_SIZE = flags.DEFINE_integer('batch_size', 250, 'Images a sampling or scoring call.')
_THROUGHPUT = flags.DEFINE_list('throughput_batches', ['16', '256'],
                                'Batch sizes whose images/s are timed.')
_STEPS = flags.DEFINE_list('steps', ['4', '8', '16', '32', '64', '128'],
                           'Step counts of the Fréchet distance against steps.')
_FIGURE_SAMPLES = flags.DEFINE_integer('figure_samples', 8, 'Samples a paradigm shows.')
_SEED = flags.DEFINE_integer('seed', 0, 'Seed of the samples and the floor\'s images.')


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f'Unexpected arguments: {argv[1:]}')
  logging.set_verbosity(logging.WARNING)  # Orbax logs every file it reads at INFO
  options = paradigms.Options(
      tolerance=_TOLERANCE.value, frechet_samples=_FRECHET_SAMPLES.value,
      likelihood_examples=_LIKELIHOOD_EXAMPLES.value, batch_size=_BATCH_SIZE.value,
      throughput_batches=paradigms.integers('throughput_batches', _THROUGHPUT.value),
      steps=paradigms.integers('steps', _STEPS.value), figure_samples=_FIGURE_SAMPLES.value,
      seed=_SEED.value)
  rows, samples = paradigms.build(_CONFIG.value, options,
                                  cache_dir=os.path.join(_OUT_DIR.value, 'measured'))
  print(paradigms.markdown(rows, options.tolerance))
  for path in paradigms.write(_OUT_DIR.value, rows, samples, options.tolerance):
    print(f'wrote {path}')


if __name__ == '__main__':
  cli_errors.run_tool(main)
