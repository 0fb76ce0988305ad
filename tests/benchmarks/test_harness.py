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
