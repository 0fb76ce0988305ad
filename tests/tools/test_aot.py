"""The ahead-of-time compile of a config's train step (genjax/tools/aot.py): the tool as a
user runs it on a tiny config, its one-line answers when the step does not fit or the
topology is wrong, the TPU path where libtpu is installed, and what it reads from a
compiled program."""

import importlib.util
import os
import subprocess
import sys

import jax
import pytest

from genjax.errors import UserError
from genjax.tools import aot_devices, aot_levers, aot_report, aot_table
from genjax.training import utilization
from tests.conftest import REPO

_HAS_LIBTPU = importlib.util.find_spec('libtpu') is not None
_NO_LIBTPU = 'libtpu is not installed (pip install -e .[aot]); CI installs .[test] only'


def _aot(*args):
  return subprocess.run([sys.executable, '-m', 'experiments.aot', *args], cwd=REPO,
                        capture_output=True, text=True, timeout=300,
                        env={**os.environ, 'JAX_PLATFORMS': 'cpu'})


def test_a_tiny_config_on_cpu_devices_prints_its_memory_flops_and_that_it_fits():
  result = _aot('--config=configs/vae.py:smoke', '--topology=cpu:2')
  assert result.returncode == 0, result.stderr[-3000:]
  lines = result.stdout.strip().splitlines()
  assert lines[0].startswith('2 x cpu (cpu:2), mesh data=2 x fsdp=1; batch 32 (16 a device)')
  text = result.stdout
  for part in ('memory per device (compiled.memory_analysis()):', '  arguments ',
               '  temporaries ', '  total ', 'FLOPs per step per device'):
    assert part in text, text
  assert lines[-1].startswith('fits: ') and 'per device' in lines[-1], lines[-1]


def test_a_step_over_the_memory_gets_one_line_saying_by_how_much_and_what_to_try():
  result = _aot('--config=configs/vae.py:smoke', '--topology=cpu:2', '--hbm_gib=0.00001',
                '--config.mesh.fsdp=1')
  assert result.returncode == 1, result.stderr[-3000:]
  last = result.stdout.strip().splitlines()[-1]
  assert last.startswith('does not fit: ') and ' is over the 10 KiB of a cpu ' in last, last
  assert ' by ' in last and '; try ' in last and '--config.mesh.fsdp=2' in last, last
  assert sum(line.startswith(('fits', 'does not fit')) for line in result.stdout.splitlines()) == 1


@pytest.mark.parametrize('topology,remedy', [
    ('v5e-8', 'write KIND:SHAPE, e.g. v5e:2x4'),
    ('v9z:2x2', "unknown device kind 'v9z'"),
    ('gpu:4', 'run it on a host with 4'),
])
def test_a_bad_topology_gets_one_line_naming_the_remedy(topology, remedy):
  result = _aot('--config=configs/vae.py:smoke', f'--topology={topology}')
  lines = result.stderr.strip().splitlines()
  assert result.returncode == 2, result.stderr[-3000:]
  assert lines[-1].startswith('error: ') and remedy in lines[-1], lines[-1]
  assert 'Traceback' not in result.stderr


@pytest.mark.skipif(not _HAS_LIBTPU, reason=_NO_LIBTPU)
def test_a_tpu_slice_is_compiled_for_without_a_tpu():
  result = _aot('--config=configs/vae.py:smoke', '--topology=v5e:2x2')
  assert result.returncode == 0, result.stderr[-3000:]
  lines = result.stdout.strip().splitlines()
  assert lines[0].startswith('4 x TPU v5 lite (v5e:2x2), mesh data=4 x fsdp=1')
  assert "step time lower bound at the chip's peak bf16 rate (197 TFLOP/s)" in result.stdout
  assert lines[-1].startswith('fits: ') and 'of 16.00 GiB per device' in lines[-1], lines[-1]


@pytest.mark.skipif(not _HAS_LIBTPU, reason=_NO_LIBTPU)
def test_a_second_stage_compiles_over_a_stage_1_of_shapes_only_on_a_tpu_slice():
  # v5p chips are one device each (megacore), with v5p's 95 GiB, not v5e's 16.
  result = _aot('--config=configs/code_prior.py:smoke', '--topology=v5p:2x2x1',
                '--config.data.stage1_workdir=')
  assert result.returncode == 0, result.stderr[-3000:]
  lines = result.stdout.strip().splitlines()
  assert lines[0].startswith('4 x TPU v5 (v5p:2x2x1)'), lines[0]
  assert lines[-1].startswith('fits: ') and 'of 95.00 GiB per device' in lines[-1], lines[-1]


def test_a_tpu_slice_without_libtpu_gets_one_line_naming_the_install(monkeypatch):
  from jax.experimental import topologies  # pylint: disable=g-import-not-at-top

  def not_installed(*args, **kwargs):
    del args, kwargs
    raise RuntimeError('JAX TPU support not installed; cannot generate TPU topology.')

  # As JAX says it where libtpu is absent (CI); this process's backend and environment kept.
  monkeypatch.setattr(topologies, 'get_topology_desc', not_installed)
  monkeypatch.setattr(jax.config, 'update', lambda *args: None)
  monkeypatch.setattr(os, 'environ', dict(os.environ))
  with pytest.raises(UserError, match=r"--topology=v5e:2x2 needs libtpu .* pip install "
                                      r"'jax\[tpu\]==.*\[aot\]'.*--topology=cpu:8"):
    aot_devices.target('v5e:2x2')


def test_collectives_are_counted_once_each_with_the_bytes_they_move():
  hlo = '\n'.join([
      '  %all-gather.5 = bf16[16,1024]{1,0:T(8,128)(2,1)S(1)} all-gather(%convert), dims={0}',
      '  %ag = (f32[8,4]{1,0}, f32[16,4]{1,0}) all-gather-start(%x)',  # counted at its done
      '  %agd = f32[16,4]{1,0} all-gather-done(%ag)',
      '  ROOT %all-reduce.1 = f32[]{:T(128)} all-reduce(%reduce), to_apply=%add',
      '  %both = (f32[2]{0}, s32[3]{0}) all-reduce(%a, %b), to_apply=%add',
      '  %not = f32[4]{0} add(%all-reduce.1, %b)'])
  assert aot_report.collectives_of(hlo) == {'all-gather': (2, 16 * 1024 * 2 + 16 * 4 * 4),
                                             'all-reduce': (2, 4 + 2 * 4 + 3 * 4)}


def test_the_tpu_compilers_refusal_gives_the_memory_the_program_needs():
  refusal = ('RESOURCE_EXHAUSTED: Ran out of memory on HBM, the total memory required for '
             'HLO temporaries (23.85G) exceeds available HBM (15.75G).')
  assert aot_report.used_bytes_from_error(refusal) == 23.85 * 2**30
  assert aot_report.used_bytes_from_error('Used 1.5G of 15.75G hbm') == 1.5 * 2**30
  assert aot_report.used_bytes_from_error('INTERNAL: something else') is None


def test_a_program_the_compiler_refuses_does_not_fit_though_under_the_chips_memory():
  # The compiler keeps part of HBM: it may refuse 15.90G on a 16 GiB chip.
  gib = 2**30
  for refusal in ('RESOURCE_EXHAUSTED: Ran out of memory on HBM, the total memory required '
                  'for HLO temporaries (15.90G) exceeds available HBM (15.75G).',
                  'Aborting compilation early: Requires 15.90G, has 15.75G available',
                  'Used 15.90G of 15.75G hbm. Exceeded hbm capacity by 153.6M.'):
    assert aot_report.used_bytes_from_error(refusal) == 15.90 * gib
    assert aot_report.available_bytes_from_error(refusal) == 15.75 * gib
  assert aot_report.available_bytes_from_error('INTERNAL: something else') is None
  fits, line = aot_report.fit_line(15.90 * gib, 16 * gib, 'a TPU v5 lite (HBM)',
                                   options=['--config.mesh.fsdp=8'], refused=True)
  assert fits is False
  assert line == ('does not fit: the compiler refused 15.90 GiB per device, under the 16.00 '
                  'GiB of a TPU v5 lite (HBM) but over what it leaves the program; try '
                  '--config.mesh.fsdp=8')
  fits, line = aot_report.fit_line(15.90 * gib, 15.75 * gib, 'a TPU v5 lite (HBM)',
                                   refused=True)
  assert fits is False and line.startswith('does not fit: 15.90 GiB per device is over the '
                                           '15.75 GiB of a TPU v5 lite (HBM) by')


@pytest.mark.parametrize('steps,unroll,counted', [(10, 1, 1), (10, 0, 10), (10, 10, 10),
                                                  (10, 4, 6), (3, 5, 3)])
def test_the_steps_xla_counts_are_one_loop_body(steps, unroll, counted):
  assert utilization.steps_counted(steps, unroll) == counted


def test_arguments_that_dominate_ask_for_fsdp_first_temporaries_for_recompute_first():
  from configs import var  # pylint: disable=g-import-not-at-top
  config = var.get_config('d16')
  gib = 2**30
  state_heavy = aot_report.Memory(arguments=20 * gib, outputs=0, aliased=0,
                                  temporaries=4 * gib, code=0)
  activation_heavy = aot_report.Memory(arguments=2 * gib, outputs=0, aliased=0,
                                       temporaries=30 * gib, code=0)
  family = dict(compute_dtypes=('float32', 'bfloat16'), can_accumulate=True)
  first = aot_levers.levers(config, state_heavy, devices=8, over=8 * gib, **family)
  assert str(first[0]) == '--config.mesh.fsdp=8', first
  second = aot_levers.levers(config, activation_heavy, devices=8, over=16 * gib, **family)
  # 30 GiB of temporaries less 16: at least 3 micro-batches, and 768 splits into 3 x 8 chips.
  assert list(map(str, second[:3])) == ['--config.model.remat=block',
                                        '--config.compute_dtype=bfloat16',
                                        '--config.grad_accum_steps=3'], second
  assert 'grad_accum_steps' not in str(aot_levers.levers(
      config, activation_heavy, devices=8, over=16 * gib, compute_dtypes=('float32',),
      can_accumulate=False))


def test_a_lever_sets_its_field_on_a_copy():
  from configs import var  # pylint: disable=g-import-not-at-top
  config = var.get_config('d16')
  changed = aot_levers.Lever('mesh.fsdp', 8).apply(config)
  assert (changed.mesh.fsdp, config.mesh.fsdp) == (8, 1)


def test_a_table_continues_from_the_rows_it_wrote(tmp_path):
  path = tmp_path / 'table.md'
  finished = '| `a.py:x` | v5e-8 | fits | as given | 1.00 GiB | 1.00e+12 | 5.08 ms | 60 s |'
  path.write_text('\n'.join(aot_table.HEADER + [
      finished, '| `b.py:y` | v5e-8 | failed: JaxRuntimeError: INTERNAL | | | | | |']) + '\n')
  assert aot_table.rows_in(str(path)) == {('`a.py:x`', 'v5e-8'): finished}
  emitted = []
  aot_table.table([('`a.py:x`', None)], slices=['v5e-8'], done=aot_table.rows_in(str(path)),
                  emit=emitted.append, log=lambda line: None)
  assert emitted[:3] == aot_table.HEADER + [finished]
  assert '(and 1 row kept from an earlier run of it)' in emitted[-1]
