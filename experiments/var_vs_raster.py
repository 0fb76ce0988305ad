"""VAR against the raster Transformer prior over the same multi-scale tokens: one table.

    python -m experiments.var_vs_raster --var=runs/var --raster=runs/raster_prior \
        --benchmark=results/benchmarks/var_sampling.json --out=results/var/head_to_head

Writes <out>.md (the table) and <out>.json (every number in it, with the runs' workdirs).
Both runs must be finished, scored by the Fréchet distance, and read one tokenizer.
"""

import json
import os

from absl import app, flags

from genjax import cli_errors
from genjax.tools import var_vs_raster

_VAR = flags.DEFINE_string('var', 'runs/var', 'the VAR workdir (experiments/var.py).')
_RASTER = flags.DEFINE_string('raster', 'runs/raster_prior',
                              'the raster prior workdir (experiments/code_prior.py).')
_BENCHMARK = flags.DEFINE_string('benchmark', '',
                                 'benchmarks.var_sampling JSON; empty: no images/s columns.')
_OUT = flags.DEFINE_string('out', 'results/var/head_to_head', 'output path without suffix.')


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f'Unexpected arguments: {argv[1:]}')
  rows = var_vs_raster.head_to_head(_VAR.value, _RASTER.value, _BENCHMARK.value)
  tokenizer = rows['VAR']['upstream']
  usage = var_vs_raster.scale_usage(tokenizer)
  num_codes = rows['VAR']['num_codes']
  table = (var_vs_raster.markdown(rows) + f'\nTokens of {tokenizer} by scale:\n\n'
           + var_vs_raster.usage_markdown(usage, num_codes))
  os.makedirs(os.path.dirname(os.path.abspath(_OUT.value)), exist_ok=True)
  with open(_OUT.value + '.md', 'w') as f:
    f.write(table)
  with open(_OUT.value + '.json', 'w') as f:
    json.dump({'priors': rows, 'tokenizer': tokenizer, 'scale_usage': usage}, f, indent=1)
  print(table, end='')
  print(f'wrote {_OUT.value}.md and {_OUT.value}.json')


if __name__ == '__main__':
  cli_errors.run_tool(main)
