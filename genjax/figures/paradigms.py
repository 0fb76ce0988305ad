"""The paradigms table's figures: samples side by side, and the Fréchet distance against
sampling steps, one curve per paradigm (`genjax.tools.paradigms`)."""

from __future__ import annotations

from typing import Any, Mapping

import numpy as np
from matplotlib import ticker

from genjax.figures.grid import plt, save, show_tiles


def plot_samples(names: list[str], samples: list[np.ndarray], png_path: str) -> str:
  """One column of samples a paradigm, its name above it."""
  fig, axes = plt.subplots(1, len(names), figsize=(1.6 * len(names), 0.4 + 1.2 * max(
      1, max(len(s) for s in samples) // 2)), squeeze=False)
  for ax, name, images in zip(axes[0], names, samples):
    show_tiles(ax, np.clip(np.asarray(images, np.float32), 0.0, 1.0), ncols=2)
    ax.set_title(name, fontsize=8)
  return save(fig, png_path)


def plot_fd_vs_steps(curves: Mapping[str, list[dict[str, Any]]], floor: float,
                     num_samples: int, png_path: str) -> str:
  """Each paradigm's points {'steps', 'fd'}: a line where it has several, a marker where
  its sampler takes a fixed number of steps."""
  fig, ax = plt.subplots(figsize=(6.5, 4))
  for name, points in curves.items():
    steps = [p['steps'] for p in points]
    ax.plot(steps, [p['fd'] for p in points], 'o-' if len(points) > 1 else 's', label=name)
  ax.axhline(floor, color='gray', ls=':', label=f'floor: {num_samples:,} train images')
  ax.set_xscale('log')
  ticks = sorted({p['steps'] for points in curves.values() for p in points})
  ax.set_xticks(ticks, [str(n) for n in ticks])
  ax.xaxis.set_minor_locator(ticker.NullLocator())
  ax.set_xlabel('sampling steps (a fixed-step sampler: its network evaluations)')
  ax.set_ylabel('Fréchet distance (classifier features)')
  ax.set_title(f'Fréchet distance of {num_samples:,} samples to the test set')
  ax.legend(fontsize=7)
  return save(fig, png_path)
