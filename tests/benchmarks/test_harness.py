"""The benchmarks' harness: the timer, and the machine record every benchmark writes beside
its numbers."""

import json
import time

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
  assert written['environment']['loadavg_at_start'] == [0.25]
  assert written['environment']['other_processes_cpu_share_per_repeat'] == [0.0, 0.5]
  assert written['machine'] == machine
  # Idle, and no --out: nothing written, no warning.
  assert harness.finish('', {'rate': 2.0}, machine, [0.0, None]) is False
  assert harness.BUSY_WARNING not in capsys.readouterr().out


def test_timer_warms_up_then_calibrates_calls_to_the_minimum_time():
  calls = []
  timer = harness.Timer(lambda n: calls.append(n) or time.sleep(0.002 * n), per_call=10,
                        min_time=0.02)
  assert calls == [1]  # the warm-up call
  rate = timer.rate()
  assert timer.n > 1 and 0 < rate < 10 / 0.002
  assert harness.Timer(lambda n: None, warm_up=0).rate() > 0  # min_time 0: one call
  assert calls[0] == 1


def test_call_timer_keeps_the_output_and_gives_seconds_per_unit():
  timer = harness.CallTimer(lambda: 3, per_call=4)
  assert timer.out == 3
  assert 0 < timer.seconds() < 1


def test_interleaved_repeats_calls_every_measure_once_a_repeat(capsys):
  order = []
  raw, others = harness.interleaved_repeats(
      {'a': lambda: order.append('a') or 1.0, 'b': lambda: order.append('b') or 2.0}, 2)
  assert order == ['a', 'b', 'a', 'b'] and raw == {'a': [1.0, 1.0], 'b': [2.0, 2.0]}
  assert len(others) == 2 and 'repeat 2/2' in capsys.readouterr().out
  assert harness.best_and_median({'s': [3.0, 1.0, 2.0]}, best=min) == ({'s': 1.0}, {'s': 2.0})
