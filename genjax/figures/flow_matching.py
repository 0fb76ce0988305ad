"""Flow-matching figures from a run's artifacts: samples, the same noise integrated with
more and more steps, and class grids at several guidance scales."""

from __future__ import annotations

import os

import numpy as np

from genjax.figures.grid import plt, save, show_tiles


def render_run(artifacts_path: str, out_dir: str) -> list[str]:
  a = dict(np.load(artifacts_path))
  fd = f', Fréchet distance {float(a["frechet_distance"]):.2f}' if 'frechet_distance' in a \
      else ''
  cols = int(np.ceil(np.sqrt(len(a['samples']))))
  fig, ax = plt.subplots(figsize=(6, 6))
  show_tiles(ax, a['samples'], cols, f'Flow-matching samples ({a["samples_solver"]}, '
             f'NFE {int(a["samples_nfe"])}{fd})')
  paths = [save(fig, os.path.join(out_dir, 'samples.png'))]
  paths.append(steps(a, os.path.join(out_dir, 'steps.png')))
  if 'class_grid' in a:
    paths.append(guidance_grids(a, os.path.join(out_dir, 'class_grid.png')))
  return paths


def steps(a, path: str) -> str:
  """One row per solve of the same noise: Euler with more and more steps, then the
  adaptive solver, each labelled with its network evaluations."""
  grid, nfe, solvers = a['step_grid'], a['step_grid_nfe'], a['step_grid_solvers']
  rows, n = grid.shape[:2]
  fig, axes = plt.subplots(rows, 1, squeeze=False, figsize=(n * 0.7 + 1.5, rows * 0.75 + 0.5))
  for ax, images, evals, solver in zip(axes[:, 0], grid, nfe, solvers):
    show_tiles(ax, images, n)
    ax.text(-0.03, 0.5, f'{solver}\nNFE {int(evals)}', transform=ax.transAxes,
            ha='right', va='center', fontsize=8)
  fig.suptitle('The same noise, integrated with more network evaluations')
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
  fig.suptitle('Classifier-free guidance, v = (1 + w) v(x, t | y) - w v(x, t) (w = 0: the '
               'conditional model); one class a row')
  return save(fig, path)
