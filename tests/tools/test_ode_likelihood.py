"""The probability-flow likelihood tool on a smoke diffusion run, from its command line, and
its refusal of a run of a family without such an ODE."""

import json
import math
import os
import subprocess
import sys

import pytest

from genjax.errors import UserError
from genjax.tools import ode_likelihood
from tests.conftest import REPO
from tests.smoke_runs import scored_ddpm, trained


def test_the_tool_scores_a_diffusion_run_and_writes_its_json_beside_it(tmp_path):
  smoke = scored_ddpm()  # the session's DDPM run
  out = tmp_path / 'ode.json'  # by default beside the run, which is shared: elsewhere
  result = subprocess.run(
      [sys.executable, '-m', 'experiments.ode_likelihood', f'--workdir={smoke.workdir}',
       '--examples=4', '--rtol=1e-2', '--atol=1e-2', '--seed=3', f'--out={out}'],
      cwd=REPO, capture_output=True, text=True, timeout=600)
  assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
  assert 'bits/dim' in result.stdout and 'velocity evaluations' in result.stdout
  r = json.load(open(out))
  assert r['family'] == 'diffusion' and r['examples'] == 4 and r['seed'] == 3
  # A density of 8-bit images bounds their rate, which is positive; barely trained, the
  # U-Net is far from the data, but its ODE is still solved to a finite number.
  assert math.isfinite(r['bpd']) and r['bpd'] > 0 and r['bpd_standard_error'] > 0
  assert r['nfe_mean'] > 6 and len(r['nfe_per_batch']) == 1
  assert f"{r['bpd']:.4f}" in result.stdout
  smoke.assert_unchanged()


def test_a_run_of_another_family_is_refused_in_one_line():
  vae = trained('vae')
  with pytest.raises(UserError) as refusal:
    ode_likelihood.run(str(vae.workdir), examples=4)
  message = str(refusal.value)
  assert "'vae' run" in message and 'no probability-flow ODE' in message
  assert 'diffusion' in message and '\n' not in message
  with pytest.raises(UserError, match='--divergence=trace'):
    ode_likelihood.run(str(vae.workdir), examples=4, divergence='trace')
  assert not os.path.exists(vae.workdir / 'ode_likelihood')
