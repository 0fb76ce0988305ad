"""Latent diffusion's figures from a run's artifacts: DDIM samples decoded by the first
stage, and a conditional model's class grid."""

from __future__ import annotations

import os

import numpy as np

from genjax.figures.grid import plt, save, show_tiles


def render_run(artifacts_path: str, out_dir: str) -> list[str]:
  a = dict(np.load(artifacts_path))
  paths = []
  samples = a['samples']
  fig, ax = plt.subplots(figsize=(6, 6))
  show_tiles(ax, samples, int(np.ceil(np.sqrt(len(samples)))),
             f'DDIM samples of the latents, decoded (scale factor '
             f'{float(a["scale_factor"]):.3g})')
  paths.append(save(fig, os.path.join(out_dir, 'samples.png')))
  if 'class_grid' in a:
    labels = a['class_grid_labels']
    per_row = len(labels) // len(np.unique(labels))
    fig, ax = plt.subplots(figsize=(max(per_row * 0.6, 4), len(np.unique(labels)) * 0.6 + 0.6))
    show_tiles(ax, a['class_grid'], per_row, 'One class a row (conditional, w = 1)')
    paths.append(save(fig, os.path.join(out_dir, 'class_grid.png')))
  return paths
