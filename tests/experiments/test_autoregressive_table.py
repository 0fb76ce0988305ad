"""The autoregressive results table is built from a finished run, numbers unaltered."""

import json
import os

import pytest

from genjax.training.progress import read_metrics
from tests.experiments.test_smoke import _run


@pytest.mark.slow
def test_table_reports_the_runs_final_test_nll_and_its_figures(tmp_path):
  run, out = tmp_path / 'run', tmp_path / 'table'
  for args in (['experiments.autoregressive', '--config=configs/autoregressive.py:smoke,gated',
                f'--workdir={run}'],
               ['experiments.autoregressive_table', f'--runs=Gated smoke={run}',
                f'--out_dir={out}']):
    result = _run(*args)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
  final_test = [r for r in read_metrics(run / 'metrics.jsonl') if r['split'] == 'test'][-1]
  row = json.load(open(out / 'summary.json'))['Gated smoke']
  assert row['test_nll_nats'] == final_test['nll']
  assert row['architecture'] == 'gated_pixelcnn' and row['train_steps'] == 8
  assert row['params'] > 0 and row['examples_per_sec'] > 0
  assert f"| Gated smoke | {final_test['nll']:.2f} |" in result.stdout
  assert os.path.getsize(out / 'gated_smoke_samples.png') > 1000
