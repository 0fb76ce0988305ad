"""Every experiment's `smoke` variant runs end to end from its command line."""

import json
import os
import subprocess
import sys

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

EXPERIMENTS = {
    'vae': ['samples.png', 'reconstructions.png', 'interpolation.png'],
    'vae_paper': ['fig2_lower_bound.png', 'fig4_manifold.png', 'fig5_samples.png',
                  'latent_scatter.png', 'class_grid.png'],
    'autoregressive': ['samples.png', 'completions.png'],
    'classifier': ['confusion.png', 'predictions.png'],
    'diffusion': ['samples.png', 'ddim_samples.png', 'forward_process.png', 'class_grid.png'],
}

# Mains that train nothing: their quick flags, and the PNG they must write under tmp_path.
ANALYSES = {
    'receptive_field': (['--variant=smoke', '--row=5', '--col=5', '--out={tmp}/rf.png'],
                        'rf.png'),
}

# Mains that read finished runs, each with a test file of its own.
TESTED_ELSEWHERE = {'autoregressive_table': 'test_autoregressive_table.py'}


def test_every_experiment_has_a_smoke_test():
  mains = {f[:-3] for f in os.listdir(os.path.join(REPO, 'experiments'))
           if f.endswith('.py') and not f.startswith('_')}
  assert mains == set(EXPERIMENTS) | set(ANALYSES) | set(TESTED_ELSEWHERE)


@pytest.mark.parametrize('name', sorted(ANALYSES))
def test_analysis_runs_end_to_end(tmp_path, name):
  flags, png = ANALYSES[name]
  result = subprocess.run(
      [sys.executable, '-m', f'experiments.{name}'] + [f.format(tmp=tmp_path) for f in flags],
      cwd=REPO, capture_output=True, text=True, timeout=600)
  assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
  assert os.path.getsize(os.path.join(tmp_path, png)) > 1000


@pytest.mark.parametrize('name', sorted(EXPERIMENTS))
def test_smoke_variant_runs_end_to_end(tmp_path, name):
  result = subprocess.run(
      [sys.executable, '-m', f'experiments.{name}', f'--config=configs/{name}.py:smoke',
       f'--workdir={tmp_path}'], cwd=REPO, capture_output=True, text=True, timeout=600)
  assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
  assert 'examples/s' in result.stdout and 'ETA' in result.stdout  # progress is shown
  for png in EXPERIMENTS[name]:
    assert os.path.getsize(os.path.join(tmp_path, 'figures', png)) > 1000, png
  if name == 'vae':
    final = json.load(open(os.path.join(tmp_path, 'final_metrics.json')))
    assert final['iwae_8'] >= final['elbo'] - 1.0
