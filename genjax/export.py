"""A trained run's weights as safetensors, with its config and data description, for
`genjax.load` on a machine without Orbax checkpoints or the optimiser state.

    python -m genjax.export --workdir=runs/vae --out=exports/vae

EMA weights where the run kept them (--weights=trained for the trained ones); a second
stage's first stage goes into <out>/upstream.
"""

from __future__ import annotations

from absl import app, flags, logging

from genjax import cli_errors
from genjax.trained import export

_WORKDIR = flags.DEFINE_string('workdir', None, 'The run to export.')
_OUT = flags.DEFINE_string('out', None, 'The directory to write.')
_WEIGHTS = flags.DEFINE_enum('weights', 'ema', ['ema', 'trained'], 'EMA weights where the '
                             'run kept them, or the trained ones.')


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f'Unexpected arguments: {argv[1:]}')
  logging.set_verbosity(logging.WARNING)
  for name in export(_WORKDIR.value, _OUT.value, weights=_WEIGHTS.value):
    print(f'{_OUT.value}/{name}')


if __name__ == '__main__':
  flags.mark_flags_as_required(['workdir', 'out'])
  cli_errors.run_tool(main)
