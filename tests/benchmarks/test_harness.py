"""The benchmarks' harness: the machine record every benchmark writes beside its numbers."""

import json

from benchmarks import harness


def test_machine_facts_without_cpuinfo_leaves_cpu_fields_none(tmp_path):
  facts = harness.machine_facts(str(tmp_path / 'missing'))
  assert facts['cpu_model'] is None and facts['vector_extensions'] is None
  assert set(facts) == {'cpu_model', 'vector_extensions', 'cpu_count', 'loadavg_1min', 'jax',
                        'jaxlib', 'flax', 'torch'}


def test_machine_facts_reads_the_first_processor(tmp_path):
  cpuinfo = tmp_path / 'cpuinfo'
  cpuinfo.write_text('processor\t: 0\nmodel name\t: Some CPU\nflags\t\t: fpu avx2 amx_tile sse\n'
                     '\nprocessor\t: 1\nmodel name\t: Other CPU\nflags\t\t: avx512f\n')
  facts = harness.machine_facts(str(cpuinfo))
  assert facts['cpu_model'] == 'Some CPU'
  assert facts['vector_extensions'] == ['avx2', 'amx_tile']


def test_write_json_records_the_given_machine(tmp_path):
  path = tmp_path / 'out' / 'result.json'
  harness.write_json(str(path), {'rate': 1.5}, {'cpu_model': 'x'})
  assert json.loads(path.read_text()) == {'rate': 1.5, 'machine': {'cpu_model': 'x'}}


def test_finish_flags_a_busy_run_and_writes_it(tmp_path, capsys):
  path = tmp_path / 'result.json'
  machine = {'cpu_model': 'x', 'loadavg_1min': 0.25}
  assert harness.finish(str(path), {'rate': 2.0}, machine, [0.0, 0.5]) is True
  assert harness.BUSY_WARNING in capsys.readouterr().out
  written = json.loads(path.read_text())
  assert written['rate'] == 2.0 and written['busy'] is True
  assert written['loadavg_at_start'] == [0.25]
  assert written['other_processes_cpu_share_per_repeat'] == [0.0, 0.5]
  assert written['machine'] == machine
  # Idle, and no --out: nothing written, no warning.
  assert harness.finish('', {'rate': 2.0}, machine, [0.0, None]) is False
  assert harness.BUSY_WARNING not in capsys.readouterr().out
