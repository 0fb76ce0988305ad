"""The autoregressive results table is built from a finished run, numbers unaltered."""

import json
import os

import pytest

from genjax.training.progress import read_metrics
from tests.experiments.test_smoke import _run
from tests.smoke_runs import trained


@pytest.mark.slow
def test_table_reports_the_runs_final_test_nll_and_its_figures(tmp_path):
  run = trained('autoregressive')  # the shared PixelCNN smoke run, only read here
  out = tmp_path / 'table'
  result = _run('experiments.autoregressive_table', f'--runs=PixelCNN smoke={run.workdir}',
                f'--out_dir={out}')
  assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
  final_test = [r for r in read_metrics(run.workdir / 'metrics.jsonl')
                if r['split'] == 'test'][-1]
  row = json.load(open(out / 'summary.json'))['PixelCNN smoke']
  assert row['test_nll_nats'] == final_test['nll']
  assert row['architecture'] == 'pixelcnn' and row['train_steps'] == 8
  assert row['params'] > 0 and row['examples_per_sec'] > 0
  assert f"| PixelCNN smoke | {final_test['nll']:.2f} |" in result.stdout
  assert os.path.getsize(out / 'pixelcnn_smoke_samples.png') > 1000
  run.assert_unchanged()
