"""MaskGIT figures from a run's artifacts: decoded samples, a class grid, and the canvas
after each parallel decoding step."""

from __future__ import annotations

import os

import numpy as np

from genjax.figures.grid import plt, save, show_tiles

# How far a still-masked region is faded to grey in the figure of the decoding steps.
MASK_SHADE = 0.75


def render_run(artifacts_path: str, out_dir: str) -> list[str]:
  a = dict(np.load(artifacts_path))
  fig, ax = plt.subplots(figsize=(6, 6))
  n = len(a['samples'])
  guided = f', guidance w = {float(a["guidance"]):g}' if float(a['guidance']) else ''
  show_tiles(ax, a['samples'], int(np.ceil(np.sqrt(n))),
             f'MaskGIT samples, {len(a["step_reveals"])} decoding steps{guided}')
  paths = [save(fig, os.path.join(out_dir, 'samples.png'))]
  if 'class_grid' in a:
    labels = a['class_grid_labels']
    per_row = len(labels) // len(np.unique(labels))
    fig, ax = plt.subplots(figsize=(per_row * 0.6 + 0.5, len(np.unique(labels)) * 0.6 + 0.4))
    show_tiles(ax, a['class_grid'], per_row, 'Samples from p(codes | y), one class a row')
    paths.append(save(fig, os.path.join(out_dir, 'class_grid.png')))
  paths.append(decoding_steps(a['step_images'], a['step_masked'], a['step_reveals'],
                              os.path.join(out_dir, 'decoding_steps.png')))
  return paths


def shaded(images: np.ndarray, masked: np.ndarray) -> np.ndarray:
  """Images [..., H, W, C] in [0, 1] faded towards grey where `masked` [..., H, W] (the
  fraction of a pixel's codes still masked) is high."""
  weight = MASK_SHADE * masked[..., None]
  return (1.0 - weight) * images + weight * 0.5


def decoding_steps(images: np.ndarray, masked: np.ndarray, reveals: np.ndarray,
                   path: str) -> str:
  """One sample a row, one decoding step a column: stage 1's decoding of that step's drawn
  codes, faded to grey where the codes are still masked after it (the last step: none)."""
  steps, rows = images.shape[:2]
  canvas = np.swapaxes(shaded(images, masked), 0, 1)  # [rows, steps, H, W, C]
  fig, ax = plt.subplots(figsize=(0.9 * steps + 0.3, 0.9 * rows + 0.8))
  show_tiles(ax, canvas.reshape((rows * steps,) + canvas.shape[2:]), steps)
  revealed = ', '.join(str(c) for c in np.cumsum(reveals))
  ax.set_title(f'MaskGIT decoding: the canvas after each of {steps} steps, left to right\n'
               f'(grey: still masked; codes revealed: {revealed} of {int(np.sum(reveals))})',
               fontsize=8)
  return save(fig, path)
