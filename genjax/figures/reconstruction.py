"""Figures of the reconstruction families (PCA, the autoencoder), from a run's artifacts.

Plain NumPy and matplotlib: nothing here imports the training loop.
"""

from __future__ import annotations

import os

import numpy as np

from genjax.figures.grid import plt, save, show_tiles
from genjax.figures.vae import latent_scatter


def render_run(artifacts_path: str, out_dir: str) -> list[str]:
  """Reconstructions always; PCA's spectrum and components, and 2-D codes, when saved."""
  a = dict(np.load(artifacts_path))
  pca = 'components' in a
  paths = [reconstructions(a['recon_inputs'], a['recon_means'],
                           os.path.join(out_dir, 'reconstructions.png'),
                           'PCA projection' if pca else 'Autoencoder reconstruction')]
  if 'explained_variance_ratio' in a:
    paths.append(explained_variance(a['explained_variance_ratio'],
                                    os.path.join(out_dir, 'explained_variance.png')))
  if pca:
    paths.append(components(a['components'], os.path.join(out_dir, 'components.png')))
  if 'latent_means' in a:
    code = 'principal component score' if pca else 'code'
    paths.append(latent_scatter(a['latent_means'], a['latent_labels'],
                                os.path.join(out_dir, 'latent_scatter.png'), code=code,
                                title='Test set at its 2-D code, coloured by class'))
  return paths


def reconstructions(inputs: np.ndarray, outputs: np.ndarray, path: str, what: str) -> str:
  """Test images above their reconstructions."""
  n = len(inputs)
  fig, (top, bottom) = plt.subplots(2, 1, figsize=(n / 2, 2.4))
  show_tiles(top, inputs, n, 'Test images')
  show_tiles(bottom, np.clip(outputs, 0.0, 1.0), n, what)
  return save(fig, path)


def explained_variance(ratio: np.ndarray, path: str) -> str:
  """Each component's share of the variance, and the running total."""
  k = np.arange(1, len(ratio) + 1)
  fig, ax = plt.subplots(figsize=(6, 3.5))
  ax.bar(k, ratio, color='tab:blue', label='per component')
  ax.plot(k, np.cumsum(ratio), 'o-', color='tab:red', ms=3, label='cumulative')
  ax.set_xlabel('component')
  ax.set_ylabel('explained variance ratio')
  ax.set_ylim(0, 1)
  ax.legend()
  ax.set_title(f'{len(ratio)} components explain {np.sum(ratio):.1%} of the variance')
  return save(fig, path)


def components(images: np.ndarray, path: str) -> str:
  """Principal components as images, each scaled to its own [min, max]."""
  low = images.min(axis=(1, 2, 3), keepdims=True)
  high = images.max(axis=(1, 2, 3), keepdims=True)
  scaled = (images - low) / np.maximum(high - low, 1e-12)
  fig, ax = plt.subplots(figsize=(len(images) / 2, 0.9))
  show_tiles(ax, scaled, len(images), 'Principal components')
  return save(fig, path)
