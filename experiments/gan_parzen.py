"""The Parzen-window log-likelihood of a trained GAN, by the protocol of Goodfellow et al.'s
(2014) Table 1.

    python -m experiments.gan_parzen --workdir=runs/gan

10,000 samples; sigma from logspace(-1, 0, 10), chosen on the 1,000 validation images the
run held out of training; the mean test log-likelihood with its standard error. The
estimator is poor (see genjax/evals/parzen.py); it is here to compare with the papers.
"""

from absl import app, flags, logging

from genjax import cli_errors
from genjax.tools import gan_parzen

_WORKDIR = flags.DEFINE_string('workdir', None, 'A GAN run with a checkpoint.')
_SAMPLES = flags.DEFINE_integer('num_samples', 10000, 'Samples: the kernel centres.')
_VALIDATION = flags.DEFINE_integer('validation_examples', 1000,
                                   'Held-out images on which sigma is chosen.')
_TEST = flags.DEFINE_integer('test_examples', 0, 'The first n test images; 0: all.')
_SEED = flags.DEFINE_integer('seed', 0, 'Seed of the samples.')
_REFERENCE = flags.DEFINE_bool('reference', True, 'Also score training images as the '
                               'kernel centres: a generator that memorised its data.')
_OUT = flags.DEFINE_string('out', '', 'JSON path; default <workdir>/parzen.json.')


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f'Unexpected arguments: {argv[1:]}')
  logging.set_verbosity(logging.WARNING)  # Orbax logs every file it reads at INFO
  gan_parzen.run(_WORKDIR.value, num_samples=_SAMPLES.value,
                 validation_examples=_VALIDATION.value, test_examples=_TEST.value,
                 seed=_SEED.value, reference=_REFERENCE.value, out=_OUT.value)


if __name__ == '__main__':
  flags.mark_flags_as_required(['workdir'])
  cli_errors.run_tool(main)
