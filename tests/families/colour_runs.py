"""Colour smoke runs in process: random CIFAR-10-shaped data in place of the dataset, and
what a run saved, read back."""

from __future__ import annotations

import glob
import json
import os

import jax
import matplotlib.image
import numpy as np

from genjax.training.family import StepContext
from genjax.training.restore import load_run
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


def samples_of_saved_run(family_def, workdir: str, num: int) -> np.ndarray:
  """`Reporting.sample` of the run saved in workdir, rebuilt from its config."""
  run = load_run(workdir)
  data = family_def.data(run.config, 0, 1)
  family = family_def.build(run.config, data.info)
  context = StepContext(model_state=run.model_state, frozen=family.training.frozen)
  return np.asarray(family.reporting.sample(run.eval_params, jax.random.PRNGKey(0), num,
                                            context))
