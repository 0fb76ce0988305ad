"""Autoregressive-model figures: samples, completions and classes from a run's artifacts
.npz, and receptive-field maps."""

from __future__ import annotations

import os

import numpy as np
from matplotlib.colors import ListedColormap

from genjax.figures.grid import plt, save, show_tiles


def render_run(artifacts_path: str, out_dir: str) -> list[str]:
  """Every picture one run's artifacts allow; returns the PNG paths."""
  a = dict(np.load(artifacts_path))
  paths = []
  if 'samples' in a:
    n = len(a['samples'])
    cols = int(np.ceil(np.sqrt(n)))
    fig, ax = plt.subplots(figsize=(6, 6))
    show_tiles(ax, a['samples'], cols,
               f'Samples (mean NLL {a["sample_nll"].mean():.1f} nats under the model)')
    paths.append(save(fig, os.path.join(out_dir, 'samples.png')))
  if 'class_grid' in a:
    labels = a['class_grid_labels']
    per_row = len(labels) // len(np.unique(labels))
    fig, ax = plt.subplots(figsize=(per_row * 0.6, len(np.unique(labels)) * 0.6))
    show_tiles(ax, a['class_grid'], per_row, 'Samples from p(x | y), one class a row')
    paths.append(save(fig, os.path.join(out_dir, 'class_grid.png')))
  if 'completions' in a:
    paths.append(completions(a['completion_inputs'], a['completions'],
                             int(a['completion_rows']), os.path.join(out_dir,
                                                                     'completions.png')))
  return paths


def completions(inputs: np.ndarray, completed: np.ndarray, given_rows: int, path: str) -> str:
  """Three rows: test images, their top `given_rows` rows (the condition), completions.

  `completed` is [num_images, H, W, 1] or [num_draws, num_images, H, W, 1].
  """
  completed = completed if completed.ndim == 5 else completed[None]
  shown = np.array(inputs, copy=True)
  shown[:, given_rows:] = 0.5  # grey marks what the model had to fill in
  rows = [inputs, shown] + list(completed)
  n = len(inputs)
  fig, ax = plt.subplots(figsize=(0.6 * n, 0.65 * len(rows)))
  show_tiles(ax, np.concatenate(rows), n,
             f'Completion: originals, top {given_rows} rows given, sampled completions')
  return save(fig, path)


def receptive_fields(maps: dict[str, np.ndarray], pixel: tuple[int, int], path: str) -> str:
  """One panel per model: the input pixels its output at `pixel` depends on.

  `maps` name -> [H, W] boolean dependence. The target pixel is red. Of the pixels before
  it in raster order that the model cannot see, those above and to the right of it inside
  the bounding box of what it does see are orange (PixelCNN's blind spot: stacked masks
  lose a column to the right per row); the rest are grey (beyond the network's reach).
  """
  r, c = pixel
  fig, axes = plt.subplots(1, len(maps), figsize=(3.8 * len(maps), 4.4))
  cmap = ListedColormap(['white', '#3b6ea8', '#d62728', '#ff9f1c', '#d9d9d9'])
  for ax, (name, seen) in zip(np.atleast_1d(axes), maps.items()):
    h, w = seen.shape
    rows, cols = np.nonzero(seen)
    in_box = np.zeros_like(seen)
    in_box[rows.min():rows.max() + 1, cols.min():cols.max() + 1] = True
    unseen_before = (np.arange(h * w).reshape(h, w) < r * w + c) & ~seen
    codes = seen.astype(np.int32)
    blind = unseen_before & in_box
    blind[r:] = False
    blind[:, :c + 1] = False
    codes[unseen_before] = 4
    codes[blind] = 3
    codes[r, c] = 2
    ax.imshow(codes, cmap=cmap, vmin=0, vmax=4, interpolation='nearest')
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_title(f'{name}\n{int(seen.sum())} seen (blue), {int(blind.sum())} in the blind '
                 'spot (orange)', fontsize=9)
  fig.suptitle(f'Inputs the output at pixel {pixel} depends on (input gradients);\n'
               'grey: beyond the reach of the layers', fontsize=10)
  fig.tight_layout(rect=(0, 0, 1, 0.9))
  return save(fig, path)
