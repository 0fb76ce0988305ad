"""The Gaussian-mixture sweep (configs/gmm_sweep.py:smoke): its summary is the saved runs'
numbers and scikit-learn's criteria, its figures are drawn, and the figures read EM's
per-iteration log-likelihood from metrics.jsonl."""

import json
import math
import os

import numpy as np
import pytest

from configs import gmm_sweep as sweep_config
from experiments import gmm_sweep
from genjax.figures import gmm as figures
from genjax.models import gmm


@pytest.fixture(scope='module')
def sweep(tmp_path_factory):
  """The smoke sweep at reg_covar = 0, where EM's log-likelihood provably never decreases."""
  workdir = str(tmp_path_factory.mktemp('gmm_sweep'))
  config = sweep_config.get_config('smoke')
  config.digits.objective.reg_covar = 0.0
  gmm_sweep.train_sweep(config, workdir)
  with open(os.path.join(workdir, 'summary.json')) as f:
    return workdir, json.load(f)


@pytest.mark.slow
def test_summary_holds_each_runs_criteria_as_scikit_learn_defines_them(sweep):
  _, summary = sweep
  s = summary['digits']
  n, d = s['num_train'], s['num_features']
  assert (n, d, s['covariance_type']) == (1500, 10, 'full')
  assert [r['components'] for r in s['runs']] == [1, 2]
  for r in s['runs']:
    p = gmm.num_parameters(num_components=r['components'], num_features=d,
                           covariance_type='full')
    deviance = -2.0 * n * r['train_log_likelihood']
    np.testing.assert_allclose(r['bic'], deviance + p * math.log(n), rtol=1e-5)
    np.testing.assert_allclose(r['aic'], deviance + 2 * p, rtol=1e-5)
    assert r['converged'] and 1 <= r['iterations'] <= 8
  bics = [r['bic'] for r in s['runs']]
  assert s['min_bic_components'] == s['runs'][int(np.argmin(bics))]['components']


def test_summary_is_what_the_runs_saved(sweep):
  workdir, summary = sweep
  for r in summary['digits']['runs']:
    run = figures.run_dir(workdir, 'digits', r['components'])
    with open(os.path.join(run, 'final_metrics.json')) as f:
      final = json.load(f)
    assert r['test_log_likelihood'] == final['log_likelihood']
    assert r['train_log_likelihood'] == pytest.approx(final['train_log_likelihood'])
    steps, _ = figures.log_likelihood_curve(run)
    assert list(steps) == list(range(1, r['iterations'] + 1))  # one row per EM iteration


def test_every_figure_is_drawn(sweep):
  workdir, _ = sweep
  for png in ('log_likelihood_vs_iterations.png', 'bic_vs_components.png',
              'samples_digits.png'):
    assert os.path.getsize(os.path.join(workdir, 'figures', png)) > 1000, png
  for k in (1, 2):  # the family's own figures, per run
    for png in ('samples.png', 'log_likelihood.png'):
      path = os.path.join(figures.run_dir(workdir, 'digits', k), 'figures', png)
      assert os.path.getsize(path) > 1000, path


def test_the_iteration_curve_never_decreases_at_reg_covar_zero(sweep):
  workdir, _ = sweep
  _, ll = figures.log_likelihood_curve(figures.run_dir(workdir, 'digits', 2))
  assert len(ll) >= 3
  assert np.all(np.diff(ll) >= -1e-5), ll  # float32 rounding of a mean near -7


def test_the_curve_is_the_negated_train_loss_of_metrics_jsonl(tmp_path):
  rows = [{'step': 1, 'split': 'train', 'loss': 3.0, 'iterations': 1.0},
          {'step': 2, 'split': 'train', 'loss': 2.5, 'iterations': 2.0},
          {'step': 2, 'split': 'test', 'log_likelihood': -2.7},
          {'step': 2, 'split': 'artifacts', 'bic': 10.0},
          {'step': 3, 'split': 'train', 'loss': 2.25, 'iterations': 3.0}]
  with open(tmp_path / 'metrics.jsonl', 'w') as f:
    f.writelines(json.dumps(r) + '\n' for r in rows)
  steps, ll = figures.log_likelihood_curve(str(tmp_path))
  np.testing.assert_array_equal(steps, [1, 2, 3])
  np.testing.assert_array_equal(ll, [-3.0, -2.5, -2.25])
