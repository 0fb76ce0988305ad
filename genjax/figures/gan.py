"""GAN figures from a run's artifacts and metrics: samples, samples over training, a latent
interpolation, the class grid, the two players' losses and outputs, the Fréchet distance
and mode coverage over training; and two runs' objectives side by side. Plain NumPy and
matplotlib."""

from __future__ import annotations

import glob
import json
import os
from typing import Mapping

import numpy as np

from genjax.figures.grid import plt, save, show_image, show_tiles, tile

PROGRESS_COLUMNS = 10
MAX_PROGRESS_ROWS = 12


def read_metrics(workdir: str) -> list[dict]:
  path = os.path.join(workdir, 'metrics.jsonl')
  if not os.path.exists(path):
    return []
  with open(path) as f:
    return [json.loads(line) for line in f if line.strip()]


def _series(rows: list[dict], split: str, key: str) -> tuple[np.ndarray, np.ndarray]:
  pairs = [(r['step'], r[key]) for r in rows if r['split'] == split and key in r]
  if not pairs:
    return np.zeros(0), np.zeros(0)
  steps, values = zip(*pairs)
  return np.asarray(steps), np.asarray(values, np.float64)


def render_run(artifacts_path: str, out_dir: str) -> list[str]:
  a = dict(np.load(artifacts_path))
  workdir = os.path.dirname(os.path.dirname(artifacts_path))
  paths = []
  fig, ax = plt.subplots(figsize=(5, 5))
  show_tiles(ax, a['samples'][:64], 8, 'Samples (EMA generator)')
  paths.append(save(fig, os.path.join(out_dir, 'samples.png')))
  paths.append(samples_over_training(os.path.dirname(artifacts_path),
                                     os.path.join(out_dir, 'samples_over_training.png')))
  rows, steps = a['interpolation'].shape[:2]
  fig, ax = plt.subplots(figsize=(steps * 0.6, rows * 0.6))
  show_tiles(ax, a['interpolation'].reshape((rows * steps,) + a['interpolation'].shape[2:]),
             steps, 'Spherical interpolation between two latents, per row')
  paths.append(save(fig, os.path.join(out_dir, 'interpolation.png')))
  if 'class_grid' in a:
    per_class = int(np.sum(a['class_grid_labels'] == a['class_grid_labels'][0]))
    fig, ax = plt.subplots(figsize=(per_class * 0.6, 6))
    show_tiles(ax, a['class_grid'], per_class, 'p(x|y): one class per row')
    paths.append(save(fig, os.path.join(out_dir, 'class_grid.png')))
  metrics = read_metrics(workdir)
  if metrics:
    paths.append(training_curves(metrics, os.path.join(out_dir, 'training_curves.png')))
    if 'frechet_distance' in a:
      paths.append(fd_and_coverage(metrics, a['class_histogram'],
                                   os.path.join(out_dir, 'fd_and_mode_coverage.png')))
  return paths


def samples_over_training(artifacts_dir: str, path: str) -> str:
  """The same latents' samples at every saved step, one row a step."""
  files = sorted(glob.glob(os.path.join(artifacts_dir, 'step_*.npz')))
  if len(files) > MAX_PROGRESS_ROWS:  # evenly spaced, always with the last
    keep = np.unique(np.linspace(0, len(files) - 1, MAX_PROGRESS_ROWS).round().astype(int))
    files = [files[i] for i in keep]
  rows = [np.load(f)['samples'][:PROGRESS_COLUMNS] for f in files]
  steps = [int(os.path.basename(f)[5:13]) for f in files]
  fig, ax = plt.subplots(figsize=(PROGRESS_COLUMNS * 0.55, len(rows) * 0.6 + 0.5))
  image = tile(np.concatenate(rows), PROGRESS_COLUMNS)
  show_image(ax, image)
  h = rows[0].shape[1] + 1
  ax.set_yticks([i * h + h / 2 for i in range(len(rows))], [f'step {s}' for s in steps])
  ax.set_xticks([])
  ax.set_title('Fixed latents over training')
  return save(fig, path)


def training_curves(metrics: list[dict], path: str) -> str:
  """D's and G's losses, and D's mean output on real and fake batches, over steps."""
  fig, (left, right) = plt.subplots(1, 2, figsize=(11, 3.4))
  for key, label in (('d_loss', 'D loss'), ('g_loss', 'G loss')):
    left.plot(*_series(metrics, 'train', key), label=label)
  left.axhline(np.log(4), color='gray', ls=':', label='D loss at D = 1/2 (log 4)')
  left.set_xlabel('step')
  left.set_ylabel('nats')
  left.legend(fontsize=8)
  for key, label in (('d_real', 'D(x)'), ('d_fake', 'D(G(z)) before D step'),
                     ('d_fake_after', 'D(G(z)) after D step')):
    right.plot(*_series(metrics, 'train', key), label=label)
  right.plot(*_series(metrics, 'test', 'd_test'), 'k.', label='D(x) on test images')
  right.set_xlabel('step')
  right.set_ylim(0, 1)
  right.legend(fontsize=8)
  fig.tight_layout()
  return save(fig, path)


def fd_and_coverage(metrics: list[dict], histogram: np.ndarray, path: str) -> str:
  """Fréchet distance and the class histogram's KL to uniform over training (each beside
  its floor of real images), and the last class histogram."""
  fig, axes = plt.subplots(1, 3, figsize=(14, 3.4))
  steps, fd = _series(metrics, 'artifacts', 'frechet_distance')
  axes[0].plot(steps, fd, 'o-', label='samples')
  _, floor = _series(metrics, 'artifacts', 'frechet_floor')
  if len(floor):
    axes[0].axhline(floor[-1], color='gray', ls=':', label='floor (training images)')
  axes[0].set_yscale('log')
  axes[0].set_xlabel('step')
  axes[0].set_ylabel('Fréchet distance')
  axes[0].legend(fontsize=8)
  steps, kl = _series(metrics, 'artifacts', 'class_kl')
  axes[1].plot(steps, kl, 'o-', color='tab:red', label='samples')
  _, kl_floor = _series(metrics, 'artifacts', 'class_kl_floor')
  if len(kl_floor):
    axes[1].axhline(kl_floor[-1], color='gray', ls=':', label='training images')
  axes[1].axhline(np.log(len(histogram)), color='k', ls='--', lw=0.8,
                  label=f'one class only (log {len(histogram)})')
  axes[1].set_xlabel('step')
  axes[1].set_ylabel('KL(class histogram || uniform), nats')
  axes[1].legend(fontsize=8)
  k = len(histogram)
  axes[2].bar(np.arange(k), histogram)
  axes[2].axhline(1.0 / k, color='gray', ls=':')
  axes[2].set_xticks(np.arange(k))
  axes[2].set_xlabel('class the classifier predicts')
  axes[2].set_ylabel('fraction of samples (last step)')
  fig.tight_layout()
  return save(fig, path)


def compare_objectives(workdirs: Mapping[str, str], path: str) -> str:
  """Runs side by side (e.g. the minimax and the non-saturating G loss): D(G(z)), G's
  gradient at its output, and the Fréchet distance, over steps."""
  fig, axes = plt.subplots(1, 3, figsize=(14, 3.4))
  for label, workdir in workdirs.items():
    rows = read_metrics(workdir)
    axes[0].plot(*_series(rows, 'train', 'd_fake'), label=label)
    axes[1].semilogy(*_series(rows, 'train', 'g_output_grad'), label=label)
    axes[2].plot(*_series(rows, 'artifacts', 'frechet_distance'), 'o-', label=label)
  axes[0].set_ylabel('D(G(z))')
  axes[1].set_ylabel("|d loss / d G(z)| per sample")
  for ax in axes[:2]:  # the early steps, where D wins and the minimax gradient vanishes
    ax.set_xscale('log')
  axes[2].set_ylabel('Fréchet distance')
  axes[2].set_yscale('log')
  for ax in axes:
    ax.set_xlabel('step')
    ax.legend(fontsize=8)
  fig.tight_layout()
  return save(fig, path)
