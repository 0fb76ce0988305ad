"""Figures of the p(x|y) classifiers: the test images each model finds least likely under
their true class, and the confusion matrix of its Bayes decision."""

from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np

from genjax.figures.grid import plt, save


def least_likely(rows: Mapping[str, tuple[np.ndarray, Sequence[float], Sequence[str]]],
                 path: str) -> str:
  """One row a model: its least likely test images, each titled log p(x|y) and the class.

  Args:
    rows: model name -> (images [n, H, W(, 1)] in [0, 1], their log p(x | y_true) in nats,
      their class names).
    path: the PNG to write.
  """
  n = max(len(images) for images, _, _ in rows.values())
  fig, axes = plt.subplots(len(rows), n, figsize=(1.25 * n, 1.6 * len(rows)), squeeze=False)
  for r, (model, (images, scores, names)) in enumerate(rows.items()):
    for i, ax in enumerate(axes[r]):
      ax.set_axis_off()
      if i >= len(images):
        continue
      ax.imshow(np.squeeze(images[i]), cmap='gray', vmin=0.0, vmax=1.0,
                interpolation='nearest')
      ax.set_title(f'{names[i]}\n{scores[i]:.0f}', fontsize=7)
    axes[r][0].text(-0.15, 0.5, model, transform=axes[r][0].transAxes, ha='right',
                    va='center', fontsize=8)
  fig.suptitle('Test images least likely under their true class (title: class, '
               'log p(x|y) in nats)', fontsize=9, y=1.0 + 0.45 / fig.get_figheight())
  return save(fig, path)


def confusions(matrices: Mapping[str, np.ndarray], class_names: Sequence[str],
               path: str) -> str:
  """One panel a model: rows the true class, columns the predicted one, as fractions."""
  fig, axes = plt.subplots(1, len(matrices), figsize=(4.2 * len(matrices), 4), squeeze=False)
  for ax, (model, counts) in zip(axes[0], matrices.items()):
    fractions = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)
    ax.imshow(fractions, cmap='Blues', vmin=0.0, vmax=1.0)
    ticks = np.arange(len(class_names))
    ax.set_xticks(ticks, class_names, rotation=90, fontsize=7)
    ax.set_yticks(ticks, class_names, fontsize=7)
    ax.set_xlabel('predicted')
    ax.set_title(f'{model}\naccuracy {np.trace(counts) / counts.sum():.2%}', fontsize=9)
  axes[0][0].set_ylabel('true class')
  return save(fig, path)
