"""Autoregressive-model figures from a run's artifacts .npz: samples, completions, classes."""

from __future__ import annotations

import os

import matplotlib.pyplot as plt
import numpy as np

from genjax.figures.grid import save, show_tiles


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
