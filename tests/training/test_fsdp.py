"""Parameters sharded over the mesh's fsdp axis: a sharded step equals the replicated one
for a conv family, a transformer family and a family with model state; each device holds
1/fsdp of the state; a checkpoint moves between layouts and device counts."""

import json
import os
import subprocess
import sys

import pytest

SCRIPT = os.path.join(os.path.dirname(__file__), 'fsdp_check.py')


def _run(*args):
  out = subprocess.run([sys.executable, SCRIPT, *args], capture_output=True, text=True,
                       timeout=600)
  assert out.returncode == 0, out.stderr[-3000:]
  return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.slow
def test_a_sharded_step_equals_the_replicated_one_and_state_moves_between_layouts(tmp_path):
  result = _run('steps', str(tmp_path))
  for name in ('conv', 'transformer', 'vqvae'):
    r = result[name]
    assert r['split1'] == 0 and r['split4'] > 0, r  # fsdp=4 really split params
    assert abs(r['loss4'] - r['loss1']) <= 1e-5 * abs(r['loss1']), r
    assert r['max_param_diff'] < 1e-5, r
  # The state (params and both Adam moments) is almost all of the step's arguments.
  sizes = {int(k): v for k, v in result['argument_bytes'].items()}
  for fsdp in (4, 8):
    assert sizes[fsdp] < 1.1 * sizes[1] / fsdp, sizes
  # Two steps data-parallel, then two at fsdp=4: the four steps of fsdp=1 to float32.
  assert result['layout_max_diff'] < 1e-5
  # That run, saved by 8 devices at fsdp=4, resumes on 2 devices at fsdp=2.
  assert _run('resume', str(tmp_path / 'moved')) == {'step': 6, 'finite': True}
