"""One likelihood table across families: test bits/dim on 8-bit Fashion-MNIST and nats on
its binarised test set, each row exact or a bound, with its command, parameters and train
time (`genjax.tools.likelihood_table`).

    python -m experiments.likelihood_table --config=configs/likelihood_table.py \
        --out_dir=results/likelihood

Writes eight_bit.md/.json and binarized.md/.json into --out_dir.
"""

from absl import app, flags
from ml_collections import config_flags

from genjax import cli_errors
from genjax.tools import likelihood_table as table_lib

_CONFIG = config_flags.DEFINE_config_file('config', 'configs/likelihood_table.py',
                                          'which runs make the rows.')
_OUT_DIR = flags.DEFINE_string('out_dir', 'results/likelihood', 'where to write the tables.')


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f'Unexpected arguments: {argv[1:]}')
  tables = table_lib.tables(_CONFIG.value)
  for path, (name, rows) in zip(table_lib.write(_OUT_DIR.value, tables), tables.items()):
    print(f'{name}:\n{table_lib.markdown(rows, name)}')
    print(f'wrote {path}')


if __name__ == '__main__':
  cli_errors.run_tool(main)
