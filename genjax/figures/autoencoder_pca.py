"""Hinton & Salakhutdinov's (2006) comparison, drawn from a sweep's saved runs: test
reconstruction error against code size for PCA and the autoencoders, and reconstructions.

Each run is `<workdir>/<model>_k<k>` with its final_metrics.json and artifacts; nothing
here imports the training loop.
"""

from __future__ import annotations

import json
import os

import numpy as np

from genjax.figures.grid import plt, save, show_tiles
from genjax.figures.vae import latest_artifacts

LABELS = {'pca': 'PCA', 'linear_autoencoder': 'linear autoencoder',
          'autoencoder': 'autoencoder', 'vae': 'VAE (posterior means)'}


def run_dir(workdir: str, model: str, k: int) -> str:
  return os.path.join(workdir, f'{model}_k{k}')


def final_errors(workdir: str, models, code_sizes) -> dict[str, list[float]]:
  """model -> the final test squared error per image at each code size."""
  errors = {}
  for model in models:
    errors[model] = []
    for k in code_sizes:
      with open(os.path.join(run_dir(workdir, model, k), 'final_metrics.json')) as f:
        errors[model].append(json.load(f)['squared_error'])
  return errors


def error_against_code_size(errors: dict[str, list[float]], code_sizes, path: str) -> str:
  fig, ax = plt.subplots(figsize=(6, 4))
  for model, values in errors.items():
    ax.plot(code_sizes, values, 'o-', label=LABELS.get(model, model))
  ax.set_xscale('log')
  ax.set_xticks(code_sizes, [str(k) for k in code_sizes])
  ax.xaxis.set_minor_locator(plt.NullLocator())
  ax.set_xlabel('code size k')
  ax.set_ylabel('squared error per test image')
  ax.grid(alpha=0.3)
  ax.legend()
  ax.set_title('Reconstruction error against code size (Hinton & Salakhutdinov Fig. 2)')
  return save(fig, path)


def reconstruction_grid(workdir: str, models, k: int, path: str) -> str:
  """Test images, then each model's reconstructions at code size k, one row each."""
  rows = {model: latest_artifacts(run_dir(workdir, model, k)) for model in models}
  first = next(iter(rows.values()))
  n = len(first['recon_inputs'])
  fig, axes = plt.subplots(len(models) + 1, 1, figsize=(n / 2, 1.2 * (len(models) + 1)))
  show_tiles(axes[0], first['recon_inputs'], n, 'Test images')
  for ax, (model, a) in zip(axes[1:], rows.items()):
    show_tiles(ax, np.clip(a['recon_means'], 0.0, 1.0), n, f'{LABELS.get(model, model)}, k={k}')
  return save(fig, path)


def codes_side_by_side(workdir: str, models, path: str) -> str:
  """The 2-D codes of the test images (k = 2 runs), one panel a model, coloured by class."""
  fig, axes = plt.subplots(1, len(models), figsize=(4.2 * len(models), 4), squeeze=False)
  for ax, model in zip(axes[0], models):
    a = latest_artifacts(run_dir(workdir, model, 2))
    ax.scatter(a['latent_means'][:, 0], a['latent_means'][:, 1], c=a['latent_labels'],
               cmap='tab10', vmin=-0.5, vmax=9.5, s=2, alpha=0.6)
    ax.set_title(f'{LABELS.get(model, model)}, k=2')
    ax.set_xticks([])
    ax.set_yticks([])
  fig.suptitle('Test images at their 2-D codes, coloured by class', y=1.02)
  return save(fig, path)
