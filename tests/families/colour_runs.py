"""Colour smoke runs in process: random CIFAR-10-shaped data in place of the dataset, and
what a run saved, read back."""

from __future__ import annotations

import glob
import json
import os

import matplotlib.image
import numpy as np

import genjax
from tests.families.colour_data import fake_splits

CIFAR10 = ('cifar10', (32, 32, 3), 10)  # fake_splits' name, image shape and classes


def use_random_cifar10(monkeypatch) -> None:
  """Every reader of a config's splits gets random uint8 images of CIFAR-10's shape."""
  fake_splits(monkeypatch, *CIFAR10)


def last_artifacts(workdir: str) -> dict[str, np.ndarray]:
  paths = sorted(glob.glob(os.path.join(workdir, 'artifacts', 'step_*.npz')))
  return dict(np.load(paths[-1]))


def last_metrics(workdir: str, split: str) -> dict:
  """The last row of metrics.jsonl for `split` ('train', 'test', ...)."""
  with open(os.path.join(workdir, 'metrics.jsonl')) as f:
    rows = [json.loads(line) for line in f]
  return [r for r in rows if r.get('split') == split][-1]


def is_colour_png(path: str) -> bool:
  """Whether the PNG has pixels whose red, green and blue differ (a gray one has none)."""
  rgb = matplotlib.image.imread(path)[..., :3]
  return bool(np.abs(rgb[..., 0] - rgb[..., 1]).max() > 0.05)


def samples_of_saved_run(workdir: str, num: int) -> np.ndarray:
  """Samples of the run saved in workdir, as `genjax.load` draws them."""
  return genjax.load(workdir).sample(0, num)
