"""Classifier figures: the test confusion matrix and labelled examples."""

from __future__ import annotations

import os

import numpy as np

from genjax.figures.grid import plt, save


def render_run(artifacts_path: str, out_dir: str) -> list[str]:
  a = dict(np.load(artifacts_path))
  c = a['confusion']
  fig, ax = plt.subplots(figsize=(6, 5))
  rates = c / np.maximum(c.sum(1, keepdims=True), 1)
  im = ax.imshow(rates, cmap='Blues', vmin=0, vmax=1)
  fig.colorbar(im)
  ax.set_xlabel('predicted class')
  ax.set_ylabel('true class')
  ax.set_title(f'Test confusion (accuracy {np.trace(c) / max(c.sum(), 1):.4f})')
  paths = [save(fig, os.path.join(out_dir, 'confusion.png'))]
  images, labels, preds = a['examples'], a['example_labels'], a['example_predictions']
  n = len(images)
  fig, axes = plt.subplots(4, -(-n // 4), figsize=(n // 4 * 0.9, 4.4))
  for ax, img, y, p in zip(axes.flat, images, labels, preds):
    ax.imshow(img[..., 0], cmap='gray', vmin=0, vmax=1)
    ax.set_title(f'{p}' if p == y else f'{p} ({y})', fontsize=7,
                 color='black' if p == y else 'red')
    ax.set_axis_off()
  paths.append(save(fig, os.path.join(out_dir, 'predictions.png')))
  return paths
