"""Will it fit? A config's real train step compiled ahead of time for a TPU slice (or N CPU
or GPU devices) on this host, with its memory per device against the chip's, its FLOPs per
step and collectives (genjax/tools/aot.py).

    python -m experiments.aot --config=configs/diffusion.py:cifar10 --topology=v5e:2x4 \
        [--config.mesh.fsdp=8 --config.batch_size=256 ...]
    python -m experiments.aot --table [--out=docs/results/aot_table.md]

TPU slices need libtpu (pip install -e '.[aot]'); cpu:N needs nothing. The last line says
whether the step fits, or by how much it does not and which settings would help; the exit
status is 0 when it fits and 1 when it does not. --table compiles the paper variants on
v5e-8, v5e-256 and v4-32 and prints docs/results/aot.md's table; with --out, a rerun keeps
the rows the file already holds and compiles the rest.
"""

from __future__ import annotations

import sys

from absl import app, flags
from ml_collections import config_flags

from configs import code_prior as code_prior_config
from genjax import cli_errors
from genjax.errors import UserError
from genjax.tools import aot, aot_devices, aot_table

_CONFIG = config_flags.DEFINE_config_file(
    'config', None, 'configs/<name>.py[:variants], overridden by --config.<field>=<value>.',
    lock_config=True)
_TOPOLOGY = flags.DEFINE_string('topology', None, 'The devices to compile for: '
                                f'{aot_devices.EXAMPLES}.')
_HBM_GIB = flags.DEFINE_float('hbm_gib', 0.0, 'Memory per device to fit in, GiB; 0: the '
                              "chip's HBM (a CPU device: the host's memory / devices).")
_TABLE = flags.DEFINE_bool('table', False, 'Compile the paper variants on '
                           f'{", ".join(aot_table.TOPOLOGIES)} and print the table.')
_SLICES = flags.DEFINE_list('slices', list(aot_table.TOPOLOGIES), 'With --table: the slices, '
                            f'of {", ".join(aot_table.TOPOLOGIES)}.')
_OUT = flags.DEFINE_string('out', '', 'With --table: write the markdown table here too, a row '
                           'at a time.')


def paper_rows() -> list[tuple[str, object]]:
  """(label, config) of each paper variant in docs/results/aot.md's table."""
  from configs import code_prior, diffusion, glow, var  # pylint: disable=g-import-not-at-top
  d30 = var.get_config('d16')
  # VAR-d30 by configs/var.py's own shape rule (width 64 x depth, depth heads, stochastic
  # depth 0.1 x depth / 24) at d16's batch; the file has no d30 variant.
  d30.model.num_layers, d30.model.dim, d30.model.num_heads = 30, 64 * 30, 30
  d30.model.drop_path = 0.1 * 30 / 24
  return [('`var.py:d16` (VAR-d16)', var.get_config('d16')),
          ('`var.py:d16` at depth 30 (VAR-d30)', d30),
          ('`diffusion.py:cifar10` (DDPM)', diffusion.get_config('cifar10')),
          ('`diffusion.py:church256` (DDPM 256x256)', diffusion.get_config('church256')),
          ('`glow.py:cifar10` (Glow)', glow.get_config('cifar10')),
          ('`code_prior.py:cifar10,transformer` (Transformer prior)',
           code_prior.get_config('cifar10,transformer'))]


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f'Unexpected arguments: {argv[1:]}')
  if _TABLE.value:
    unknown = [s for s in _SLICES.value if s not in aot_table.TOPOLOGIES]
    if unknown:
      raise UserError(f'--slices: {unknown[0]!r} is not one of '
                      f'{", ".join(aot_table.TOPOLOGIES)}; name those, comma-separated.')
    aot_table.print_table(paper_rows(), stage1_config=code_prior_config.stage1_config,
                          slices=_SLICES.value, out=_OUT.value)
    return
  if _CONFIG.value is None or not _TOPOLOGY.value:
    raise UserError('Name what to compile and for which devices: --config=configs/<name>.py'
                    f'[:variants] --topology=<{aot_devices.EXAMPLES}>, or --table.')
  target = aot_devices.target(_TOPOLOGY.value, _HBM_GIB.value)
  result = aot.compile_step(_CONFIG.value, target,
                            stage1_config=code_prior_config.stage1_config)
  print('\n'.join(aot.report(result)), flush=True)
  if result.fits is False:
    sys.exit(1)


if __name__ == '__main__':
  cli_errors.run_tool(main)
