"""DDPM figures from a run's artifacts: samples, DDIM samples, progressive generation, the
forward process, and class grids at several guidance scales."""

from __future__ import annotations

import os

import numpy as np

from genjax.figures.grid import plt, save, show_tiles


def render_run(artifacts_path: str, out_dir: str) -> list[str]:
  a = dict(np.load(artifacts_path))
  paths = []
  fd = f' (Fréchet distance {float(a["frechet_distance"]):.2f})' if 'frechet_distance' in a \
      else ''
  for key, title in (('samples', 'Ancestral DDPM samples'),
                     ('ddim_samples', 'DDIM samples' + fd)):
    cols = int(np.ceil(np.sqrt(len(a[key]))))
    fig, ax = plt.subplots(figsize=(6, 6))
    show_tiles(ax, a[key], cols, title)
    paths.append(save(fig, os.path.join(out_dir, f'{key}.png')))
  fp = a['forward_process']
  fig, ax = plt.subplots(figsize=(fp.shape[1] * 0.8, fp.shape[0] * 0.8))
  show_tiles(ax, fp.reshape((-1,) + fp.shape[2:]), fp.shape[1],
             'q(x_t | x_0) at t = ' + ', '.join(str(t) for t in a['forward_timesteps']))
  paths.append(save(fig, os.path.join(out_dir, 'forward_process.png')))
  if 'progressive_x_t' in a:
    paths.append(progressive_generation(a, os.path.join(out_dir, 'progressive_generation.png')))
  if 'class_grid' in a:
    paths.append(guidance_grids(a, os.path.join(out_dir, 'class_grid.png')))
  return paths


def progressive_generation(a, path: str, rows: int = 8) -> str:
  """Ho et al.'s Fig. 6: one sample a row, t decreasing to the right; x_t on the left,
  the network's x0 prediction from the same step on the right."""
  xs, x0s = a['progressive_x_t'][:rows], a['progressive_x0_pred'][:rows]
  n, k = xs.shape[:2]
  ts = ', '.join(str(int(t)) for t in a['progressive_t'])
  fig, axes = plt.subplots(1, 2, figsize=(2 * k * 0.7 + 0.5, n * 0.7 + 0.8))
  show_tiles(axes[0], xs.reshape((-1,) + xs.shape[2:]), k, f'x_t, t = {ts}')
  show_tiles(axes[1], x0s.reshape((-1,) + x0s.shape[2:]), k, 'predicted x_0 at that step')
  return save(fig, path)


def guidance_grids(a, path: str) -> str:
  """One grid per guidance scale w (same starting noise), one class a row."""
  labels, scales = a['class_grid_labels'], a['guidance_scales']
  classes = len(np.unique(labels))
  per_row = len(labels) // classes
  width = max(len(scales) * per_row * 0.55, 6)
  fig, axes = plt.subplots(1, len(scales), squeeze=False,
                           figsize=(width, classes * 0.55 + 0.6))
  for ax, grid, w in zip(axes[0], a['class_grid'], scales):
    show_tiles(ax, grid, per_row, f'w = {float(w):g}')
  fig.suptitle('Classifier-free guidance (w = 0: unconditional, 1: conditional); '
               'one class a row')
  return save(fig, path)
