"""Fréchet distance against sampling steps for a trained DDPM, DDIM against strided DDPM.

    python -m experiments.diffusion_fd_steps --workdir=runs/ddpm --classifier=runs/classifier

Writes <workdir>/fd_vs_steps/fd_vs_steps.{json,png}; see genjax/tools/fd_vs_steps.py.
"""

from absl import app, flags, logging

from genjax import cli_errors
from genjax.tools import fd_vs_steps

_WORKDIR = flags.DEFINE_string('workdir', None, 'A diffusion run with a checkpoint.')
_CLASSIFIER = flags.DEFINE_string('classifier', None,
                                  'Classifier workdir or exported file (the feature space).')
_NUM_SAMPLES = flags.DEFINE_integer('num_samples', 1000, 'Samples scored per point; also '
                                    'the number of train images in the floor.')
_STEPS = flags.DEFINE_list('steps', ['10', '20', '50', '100', '250', '1000'],
                           'Sampling step counts, each in 1..T.')
_BATCH_SIZE = flags.DEFINE_integer('batch_size', 500, 'Images sampled per compiled call.')
_SEED = flags.DEFINE_integer('seed', 0, 'Seed of x_T and of the floor\'s train images.')
_OUT_DIR = flags.DEFINE_string('out_dir', '', 'Default: <workdir>/fd_vs_steps.')


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f'Unexpected arguments: {argv[1:]}')
  logging.set_verbosity(logging.WARNING)  # Orbax logs every file it reads at INFO
  fd_vs_steps.run(_WORKDIR.value, _CLASSIFIER.value, num_samples=_NUM_SAMPLES.value,
                  steps=[int(s) for s in _STEPS.value], batch_size=_BATCH_SIZE.value,
                  seed=_SEED.value, out_dir=_OUT_DIR.value)


if __name__ == '__main__':
  flags.mark_flags_as_required(['workdir', 'classifier'])
  cli_errors.run_tool(main)
