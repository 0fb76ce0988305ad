"""Glow figures from a run's artifacts: samples at each temperature and interpolations
between test images' latents."""

from __future__ import annotations

import os

import numpy as np

from genjax.figures.grid import plt, save, show_tiles


def render_run(artifacts_path: str, out_dir: str) -> list[str]:
  a = dict(np.load(artifacts_path))
  samples, temperatures = a['samples'], a['temperatures']
  cols = int(np.ceil(np.sqrt(samples.shape[1])))
  fig, axes = plt.subplots(1, len(samples), figsize=(4 * len(samples), 4.3), squeeze=False)
  for ax, images, t in zip(axes[0], samples, temperatures):
    show_tiles(ax, images, cols, f'temperature T = {t:g}')
  fig.suptitle('Glow samples: latents drawn at N(mean, (T std)^2), decoded exactly',
               fontsize=10)
  paths = [save(fig, os.path.join(out_dir, 'samples.png'))]
  pairs = a['interpolations']  # [pairs, steps, H, W, C]
  fig, ax = plt.subplots(figsize=(0.7 * pairs.shape[1], 0.7 * len(pairs) + 0.5))
  show_tiles(ax, pairs.reshape((-1,) + pairs.shape[2:]), pairs.shape[1],
             'Linear interpolation between two test images\' latents, one pair a row')
  paths.append(save(fig, os.path.join(out_dir, 'interpolations.png')))
  return paths
