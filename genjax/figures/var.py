"""VAR figures from a run's artifacts: samples, class grids at each guidance scale, samples
decoded scale by scale, and the Fréchet distance against the guidance scale."""

from __future__ import annotations

import os

import numpy as np

from genjax.figures.grid import plt, save, show_tiles
from genjax.figures.vqvae import coarse_to_fine


def render_run(artifacts_path: str, out_dir: str) -> list[str]:
  a = dict(np.load(artifacts_path))
  fig, ax = plt.subplots(figsize=(6, 6))
  n = len(a['samples'])
  show_tiles(ax, a['samples'], int(np.ceil(np.sqrt(n))),
             f'VAR samples (mean NLL {a["sample_nll"].mean():.1f} nats of tokens)')
  paths = [save(fig, os.path.join(out_dir, 'samples.png'))]
  if 'class_grids' in a:
    paths.append(class_grids(a['class_grids'], a['class_grid_labels'], a['guidance_scales'],
                             os.path.join(out_dir, 'class_grids.png')))
  scale_samples = a['scale_samples']
  paths.append(coarse_to_fine(
      scale_samples[-1], scale_samples[:-1], a['scales'][:-1],
      os.path.join(out_dir, 'scale_by_scale.png'),
      title='VAR samples as they are drawn: the decoder after each scale',
      last_title=f'{a["scales"][-1]}x{a["scales"][-1]}: the sample'))
  if 'frechet_by_guidance' in a:
    paths.append(frechet_by_guidance(a['guidance_scales'], a['frechet_by_guidance'],
                                     float(a['frechet_floor']), int(a['frechet_samples']),
                                     os.path.join(out_dir, 'frechet_by_guidance.png')))
  return paths


def class_grids(grids: np.ndarray, labels: np.ndarray, guidance: np.ndarray, path: str) -> str:
  """One panel per guidance scale, one class a row."""
  rows = len(np.unique(labels))
  per_row = len(labels) // rows
  fig, axes = plt.subplots(1, len(grids), figsize=(per_row * 0.5 * len(grids) + 0.5,
                                                   rows * 0.5 + 0.6), squeeze=False)
  for ax, grid, w in zip(axes[0], grids, guidance):
    show_tiles(ax, grid, per_row, f'guidance w = {w:g}')
  fig.suptitle('VAR class-conditional samples, one class a row', fontsize=10)
  return save(fig, path)


def frechet_by_guidance(guidance: np.ndarray, distances: np.ndarray, floor: float,
                        samples: int, path: str) -> str:
  fig, ax = plt.subplots(figsize=(4.5, 3.2))
  ax.plot(guidance, distances, 'o-', label='VAR samples')
  ax.axhline(floor, color='gray', ls=':', label='floor: training images')
  ax.set_xlabel('classifier-free guidance w')
  ax.set_ylabel(f'Fréchet distance ({samples} samples)')
  ax.legend()
  fig.tight_layout()
  return save(fig, path)
