"""Two GAN runs' objectives side by side: D(G(z)), G's gradient at its output, and the
Fréchet distance over training, from each run's metrics.jsonl.

    python -m experiments.gan_objectives \
        --runs=non-saturating=runs/gan,minimax=runs/gan_minimax --out=results/gan/objectives.png
"""

import os

from absl import app, flags

from genjax import cli_errors
from genjax.errors import UserError
from genjax.figures import gan as figures

_RUNS = flags.DEFINE_list('runs', None, 'label=workdir pairs, comma-separated.')
_OUT = flags.DEFINE_string('out', 'objectives.png', 'PNG path.')


def parse_runs(pairs: list[str]) -> dict[str, str]:
  runs = {}
  for pair in pairs:
    label, sep, workdir = pair.partition('=')
    if not sep or not label or not workdir:
      raise UserError(f'--runs takes label=workdir pairs; got {pair!r}.')
    if not os.path.exists(os.path.join(workdir, 'metrics.jsonl')):
      raise UserError(f'{workdir} has no metrics.jsonl; train it with '
                      'python -m experiments.gan --config=configs/gan.py:cpu --workdir=...')
    runs[label] = workdir
  return runs


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f'Unexpected arguments: {argv[1:]}')
  print(f'wrote {figures.compare_objectives(parse_runs(_RUNS.value), _OUT.value)}')


if __name__ == '__main__':
  flags.mark_flags_as_required(['runs'])
  cli_errors.run_tool(main)
