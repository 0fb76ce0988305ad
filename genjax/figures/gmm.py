"""Gaussian-mixture figures, drawn from what EM runs saved: metrics.jsonl and artifacts.

`render_run` draws one run's pictures (the family's `render_figures`); the rest draw the
figures of a sweep over datasets and numbers of components (experiments/gmm_sweep.py):
log-likelihood against EM iteration, BIC and AIC against K, and samples in pixels.
"""

from __future__ import annotations

import json
import os

import numpy as np

from genjax.figures.grid import plt, save, show_tiles
from genjax.figures.vae import latest_artifacts


def log_likelihood_curve(workdir: str) -> tuple[np.ndarray, np.ndarray]:
  """(EM iterations, mean train log-likelihood) from a run's metrics.jsonl.

  A step's `loss` is -(the mean log-likelihood before its M-step), so iteration i's value is
  that of the params after i - 1 M-steps, scikit-learn's `lower_bound_`. With log_every > 1
  a row is the mean over its interval, plotted at the interval's last step.
  """
  with open(os.path.join(workdir, 'metrics.jsonl')) as f:
    rows = [json.loads(line) for line in f if line.strip()]
  rows = [r for r in rows if r['split'] == 'train' and 'loss' in r]
  return (np.array([r['step'] for r in rows], np.int64),
          -np.array([r['loss'] for r in rows], np.float64))


def render_run(artifacts_path: str, out_dir: str) -> list[str]:
  """log_likelihood.png, and samples.png when the features decode to images, of the run
  whose artifacts are at `artifacts_path` (<workdir>/artifacts/step_*.npz, so its
  metrics.jsonl is two folders up)."""
  a = dict(np.load(artifacts_path))
  workdir = os.path.dirname(os.path.dirname(artifacts_path))
  k = len(a['weights'])
  paths = [log_likelihood_vs_iterations({f'K={k}': workdir},
                                        os.path.join(out_dir, 'log_likelihood.png'))]
  if a['sample_images'].ndim >= 3:  # features without an image shape are [n, D]
    paths.append(samples_grid(a['sample_images'],
                              f'Samples of the {k}-component mixture, in pixels',
                              os.path.join(out_dir, 'samples.png')))
  return paths


def log_likelihood_vs_iterations(runs: dict[str, str], path: str, ncols: int = 0) -> str:
  """Mean train log-likelihood against EM iteration, one panel per run.

  Each panel has its own y-axis: the log-likelihood grows with K far more than along one
  run, so curves sharing an axis would look flat.

  Args:
    runs: panel title -> a workdir with metrics.jsonl.
    path: the PNG to write.
    ncols: panels per row; 0: all in one row.
  """
  ncols = min(ncols or len(runs), len(runs))
  nrows = -(-len(runs) // ncols)
  width, height = (6, 4) if len(runs) == 1 else (3.2, 2.6)
  fig, axes = plt.subplots(nrows, ncols, figsize=(width * ncols, height * nrows), squeeze=False)
  for ax, (title, workdir) in zip(axes.flat, runs.items()):
    steps, ll = log_likelihood_curve(workdir)
    ax.plot(steps, ll, 'o-' if len(steps) < 30 else '-', ms=3)
    # A curve flat to float32 rounding (K = 1 converges at once) gets a readable span.
    pad = max(0.05 * (ll.max() - ll.min()), 0.01)
    ax.set_ylim(ll.min() - pad, ll.max() + pad)
    ax.ticklabel_format(axis='y', useOffset=False)
    ax.xaxis.set_major_locator(plt.MaxNLocator(integer=True))
    ax.set_title(title, fontsize='medium')
    ax.grid(alpha=0.3)
  for ax in axes.flat[len(runs):]:
    ax.set_axis_off()
  for ax in axes[:, 0]:
    ax.set_ylabel('mean train log-lik. (nats)')
  for ax in axes[-1]:
    ax.set_xlabel('EM iteration')
  fig.suptitle('EM: log-likelihood against iterations', y=1.0)
  fig.tight_layout()
  return save(fig, path)


def bic_vs_components(criteria: dict[str, dict[int, tuple[float, float]]], path: str) -> str:
  """BIC and AIC against K, one panel per dataset, the minimum BIC circled.

  Args:
    criteria: dataset name -> {K: (bic, aic)}.
    path: the PNG to write.
  """
  fig, axes = plt.subplots(1, len(criteria), figsize=(5 * len(criteria), 3.8), squeeze=False)
  for ax, (name, by_k) in zip(axes[0], criteria.items()):
    ks = sorted(by_k)
    bic, aic = (np.array([by_k[k][i] for k in ks]) for i in (0, 1))
    ax.plot(ks, bic, 'o-', label='BIC')
    ax.plot(ks, aic, 's--', label='AIC')
    best = int(np.argmin(bic))
    ax.plot(ks[best], bic[best], 'o', ms=14, mfc='none', mec='tab:red', mew=2,
            label=f'min BIC: K={ks[best]}')
    ax.set_xscale('log')  # K spans 1 to tens
    ax.set_xticks(ks, [str(k) for k in ks])
    ax.xaxis.set_minor_locator(plt.NullLocator())
    ax.set_xlabel('number of components K')
    ax.set_title(name)
    ax.grid(alpha=0.3)
    ax.legend()
  axes[0][0].set_ylabel('criterion on the training set (lower is better)')
  fig.suptitle('Model selection for a full-covariance Gaussian mixture', y=1.02)
  return save(fig, path)


def samples_grid(images: np.ndarray, title: str, path: str) -> str:
  """A mixture's samples, decoded to pixels, as one square-ish grid."""
  fig, ax = plt.subplots(figsize=(6, 6))
  show_tiles(ax, images, int(np.ceil(np.sqrt(len(images)))), title)
  return save(fig, path)


def run_dir(workdir: str, dataset: str, k: int) -> str:
  return os.path.join(workdir, f'{dataset}_k{k}')


def dataset_summary(workdir: str, dataset: str, components) -> dict:
  """One dataset's runs of a sweep, from what they saved: per K the training set's BIC, AIC
  and mean log-likelihood, the test mean log-likelihood, the EM iterations and whether
  they converged; and the K of minimum BIC."""
  runs = []
  for k in components:
    path = run_dir(workdir, dataset, k)
    a = latest_artifacts(path)
    with open(os.path.join(path, 'final_metrics.json')) as f:
      test_log_likelihood = json.load(f)['log_likelihood']
    runs.append({'components': int(k), 'bic': float(a['bic']), 'aic': float(a['aic']),
                 'train_log_likelihood': float(a['train_log_likelihood']),
                 'test_log_likelihood': float(test_log_likelihood),
                 'iterations': int(a['iterations']), 'converged': bool(a['converged'])})
  with open(os.path.join(run_dir(workdir, dataset, components[0]), 'config.json')) as f:
    config = json.load(f)
  best = min(runs, key=lambda r: r['bic'])
  return {'num_train': config['batch_size'],  # EM's batch is the whole training set
          'num_features': int(a['means'].shape[1]),
          'covariance_type': config['model']['covariance_type'],
          'min_bic_components': best['components'], 'runs': runs}


def sweep_figures(workdir: str, summary: dict) -> list[str]:
  """<workdir>/figures from a sweep's runs and its summary ({dataset: dataset_summary})."""
  out = os.path.join(workdir, 'figures')
  paths = [
      log_likelihood_vs_iterations(
          {f'{name}, K={r["components"]}': run_dir(workdir, name, r['components'])
           for name, s in summary.items() for r in s['runs']},
          os.path.join(out, 'log_likelihood_vs_iterations.png'),
          ncols=max(len(s['runs']) for s in summary.values())),
      bic_vs_components({name: {r['components']: (r['bic'], r['aic']) for r in s['runs']}
                         for name, s in summary.items()},
                        os.path.join(out, 'bic_vs_components.png'))]
  for name, s in summary.items():
    k = s['min_bic_components']
    images = latest_artifacts(run_dir(workdir, name, k))['sample_images']
    paths.append(samples_grid(images, f'{name}: samples of the minimum-BIC mixture (K={k}), '
                              'in pixels', os.path.join(out, f'samples_{name}.png')))
  return paths
