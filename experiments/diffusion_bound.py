"""The variational bound of a trained DDPM in bits/dim, with its standard error.

    python -m experiments.diffusion_bound --workdir=runs/ddpm --num_examples=500 --timesteps=32

See genjax/tools/bound.py and, for the dequantisation and scaling, the docstring of
genjax/objectives/diffusion.py.
"""

from absl import app, flags, logging

from genjax import cli_errors
from genjax.tools import bound

_WORKDIR = flags.DEFINE_string('workdir', None, 'A diffusion run with a checkpoint.')
_NUM_EXAMPLES = flags.DEFINE_integer('num_examples', 500, 'The first n test images.')
_TIMESTEPS = flags.DEFINE_integer('timesteps', 32, 'Network calls per image: 0 sums all '
                                  'T terms exactly; k > 0 is an unbiased estimate.')
_BATCH_SIZE = flags.DEFINE_integer('batch_size', 100, 'Images per compiled call.')
_SEED = flags.DEFINE_integer('seed', 0, 'Seed of the timesteps and noise.')
_OUT = flags.DEFINE_string('out', '', 'JSON path; default <workdir>/bound/bound_<k>.json.')


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f'Unexpected arguments: {argv[1:]}')
  logging.set_verbosity(logging.WARNING)  # Orbax logs every file it reads at INFO
  bound.run(_WORKDIR.value, num_examples=_NUM_EXAMPLES.value, timesteps=_TIMESTEPS.value,
            batch_size=_BATCH_SIZE.value, seed=_SEED.value, out=_OUT.value)


if __name__ == '__main__':
  flags.mark_flags_as_required(['workdir'])
  cli_errors.run_tool(main)
