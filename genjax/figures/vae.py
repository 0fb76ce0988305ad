"""VAE figures, drawn from what runs saved: artifacts .npz files and metrics.jsonl.

`render_run` draws one run's pictures; `figure2`, `figure4` and `figure5` draw Kingma &
Welling's (2013) figures from several runs of a latent-size sweep.
"""

from __future__ import annotations

import json
import os

import numpy as np

from genjax.figures.grid import plt, save, show_tiles

FASHION_CLASSES = ('T-shirt', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt',
                   'Sneaker', 'Bag', 'Boot')


def render_run(artifacts_path: str, out_dir: str) -> list[str]:
  """Every picture one run's artifacts allow; returns the PNG paths."""
  a = dict(np.load(artifacts_path))
  paths = []
  if 'samples' in a:
    fig, ax = plt.subplots(figsize=(6, 6))
    show_tiles(ax, a['samples'], 10, 'Samples from the prior (decoder means)')
    paths.append(save(fig, os.path.join(out_dir, 'samples.png')))
  if 'class_grid' in a:
    paths.append(class_grid(a['class_grid'], a['class_grid_labels'],
                            os.path.join(out_dir, 'class_grid.png')))
  if 'manifold' in a:
    paths.append(figure4(a['manifold'], os.path.join(out_dir, 'manifold.png')))
  if 'latent_means' in a:
    paths.append(latent_scatter(a['latent_means'], a['latent_labels'],
                                os.path.join(out_dir, 'latent_scatter.png')))
  fig, (ax1, ax2) = plt.subplots(2, 1, figsize=(8, 2.4))
  show_tiles(ax1, a['recon_inputs'], 16, 'Test images')
  show_tiles(ax2, a['recon_means'], 16, 'Reconstructions (decoder mean at posterior mean)')
  paths.append(save(fig, os.path.join(out_dir, 'reconstructions.png')))
  interp = a['interpolation']
  fig, ax = plt.subplots(figsize=(6, 2.6))
  show_tiles(ax, interp.reshape((-1,) + interp.shape[2:]), interp.shape[1],
             'Latent interpolation between test images')
  paths.append(save(fig, os.path.join(out_dir, 'interpolation.png')))
  return paths


def class_grid(images: np.ndarray, labels: np.ndarray, path: str) -> str:
  """One row per class, p(x|y) samples."""
  classes = np.unique(labels)
  per_row = len(labels) // len(classes)
  fig, ax = plt.subplots(figsize=(per_row * 0.6, len(classes) * 0.6))
  show_tiles(ax, images, per_row, 'Conditional VAE: samples from p(x | y), one class a row')
  return save(fig, path)


def figure4(manifold: np.ndarray, path: str) -> str:
  """Kingma & Welling Fig. 4: decoder means over the inverse-CDF grid of a 2-D latent."""
  g = manifold.shape[0]
  fig, ax = plt.subplots(figsize=(7, 7))
  show_tiles(ax, manifold.reshape((g * g,) + manifold.shape[2:]), g, '')
  ax.set_title('Learned 2-D manifold (Kingma & Welling Fig. 4b)')
  return save(fig, path)


def latent_scatter(means: np.ndarray, labels: np.ndarray, path: str, *,
                   code: str = 'posterior mean',
                   title: str = 'Test set in the 2-D latent space, coloured by class') -> str:
  """Test points at their 2-D codes (`code` names what the axes hold), by class."""
  fig, ax = plt.subplots(figsize=(7, 6))
  # vmin/vmax put each class's colour band around its integer tick.
  points = ax.scatter(means[:, 0], means[:, 1], c=labels, cmap='tab10', vmin=-0.5, vmax=9.5,
                      s=3, alpha=0.7)
  cbar = fig.colorbar(points, ticks=range(10))
  cbar.ax.set_yticklabels(FASHION_CLASSES if labels.max() < 10 else range(10))
  ax.set_xlabel(f'z1 ({code})')
  ax.set_ylabel(f'z2 ({code})')
  ax.set_title(title)
  return save(fig, path)


def _curve(metrics_path: str, split: str, key: str):
  with open(metrics_path) as f:
    rows = [json.loads(line) for line in f if line.strip()]
  rows = [r for r in rows if r['split'] == split and key in r]
  return np.array([r['step'] for r in rows]), np.array([r[key] for r in rows])


def figure2(runs: dict[int, str], batch_size: int, path: str) -> str:
  """Kingma & Welling Fig. 2: lower bound per datapoint against training samples seen.

  `runs` maps latent size to a workdir holding metrics.jsonl. Train curves are dashed.
  """
  dims = sorted(runs)
  fig, axes = plt.subplots(1, len(dims), figsize=(3.2 * len(dims), 3.4), sharey=True)
  for ax, dim in zip(np.atleast_1d(axes), dims):
    metrics = os.path.join(runs[dim], 'metrics.jsonl')
    for split, style, label in (('train_eval', '--', 'AEVB (train)'),
                                ('test', '-', 'AEVB (test)')):
      steps, elbo = _curve(metrics, split, 'elbo')
      ax.plot(steps * batch_size, elbo, style, color='tab:red', label=label)
    ax.set_xscale('log')
    ax.set_title(f'N_z = {dim}')
    ax.set_xlabel('# training samples evaluated')
    ax.grid(alpha=0.3)
  np.atleast_1d(axes)[0].set_ylabel('lower bound per datapoint (nats)')
  np.atleast_1d(axes)[0].legend(loc='lower right')
  fig.suptitle('ELBO against samples seen (Kingma & Welling Fig. 2)', y=1.04)
  return save(fig, path)


def figure5(samples: dict[int, np.ndarray], path: str) -> str:
  """Kingma & Welling Fig. 5: random samples for several latent sizes, one panel each."""
  dims = sorted(samples)
  fig, axes = plt.subplots(1, len(dims), figsize=(3.2 * len(dims), 3.5))
  for ax, dim in zip(np.atleast_1d(axes), dims):
    show_tiles(ax, samples[dim][:100], 10, f'{dim}-D latent space')
  fig.suptitle('Random samples, decoder means (Kingma & Welling Fig. 5)', y=1.02)
  return save(fig, path)


def latest_artifacts(run_dir: str) -> dict[str, np.ndarray]:
  folder = os.path.join(run_dir, 'artifacts')
  return dict(np.load(os.path.join(folder, sorted(os.listdir(folder))[-1])))


def paper_figures(workdir: str, figure2_dims, figure5_dims, batch_size: int) -> list[str]:
  """Figs. 2, 4 and 5 (and the scatter and class grid) from a sweep's run directories."""
  out = os.path.join(workdir, 'figures')
  paths = [
      figure2({d: os.path.join(workdir, f'z{d}') for d in figure2_dims}, batch_size,
              os.path.join(out, 'fig2_lower_bound.png')),
      figure5({d: latest_artifacts(os.path.join(workdir, f'z{d}'))['samples']
               for d in figure5_dims}, os.path.join(out, 'fig5_samples.png')),
  ]
  z2 = os.path.join(workdir, 'z2')
  if os.path.isdir(z2):
    a = latest_artifacts(z2)
    paths.append(figure4(a['manifold'], os.path.join(out, 'fig4_manifold.png')))
    paths.append(latent_scatter(a['latent_means'], a['latent_labels'],
                                os.path.join(out, 'latent_scatter.png')))
  cvae = os.path.join(workdir, 'cvae')
  if os.path.isdir(cvae):
    a = latest_artifacts(cvae)
    paths.append(class_grid(a['class_grid'], a['class_grid_labels'],
                            os.path.join(out, 'class_grid.png')))
  return paths
