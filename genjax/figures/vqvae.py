"""VQ-VAE figures from a run's artifacts: reconstructions, codebook usage, and the codes'
decodings under the uniform prior. Plain NumPy and matplotlib."""

from __future__ import annotations

import os

import numpy as np

from genjax.figures.grid import plt, save, show_tiles
from genjax.figures.reconstruction import reconstructions


def render_run(artifacts_path: str, out_dir: str) -> list[str]:
  a = dict(np.load(artifacts_path))
  paths = [reconstructions(a['recon_inputs'], a['recon_means'],
                           os.path.join(out_dir, 'reconstructions.png'),
                           'VQ-VAE reconstruction (decoder mean)')]
  if 'code_usage' in a:
    paths.append(code_usage(a['code_usage'], int(a['code_usage_images']),
                            os.path.join(out_dir, 'code_usage.png')))
  if 'uniform_prior_samples' in a:
    fig, ax = plt.subplots(figsize=(5, 5))
    show_tiles(ax, a['uniform_prior_samples'], 8,
               'Codes drawn uniformly, decoded: why a prior is learned')
    paths.append(save(fig, os.path.join(out_dir, 'uniform_prior_samples.png')))
  if 'scale_means' in a:
    paths.append(coarse_to_fine(a['recon_inputs'], a['scale_means'], a['scales'],
                                os.path.join(out_dir, 'coarse_to_fine.png')))
  return paths


def coarse_to_fine(inputs: np.ndarray, scale_means: np.ndarray, scales: np.ndarray,
                   path: str, rows: int = 8,
                   title: str = 'Multi-scale tokens: the decoder after each scale, coarse to '
                   'fine', last_title: str = 'image') -> str:
  """One image a row: decodings of f_hat after each of `scales`, then the image."""
  n = min(rows, len(inputs))
  cols = list(scale_means[:, :n]) + [inputs[:n]]
  fig, axes = plt.subplots(n, len(cols), figsize=(1.1 * len(cols), 1.1 * n + 0.4),
                           squeeze=False)
  titles = [f'{p}x{p}' for p in scales] + [last_title]
  for c, (images, column) in enumerate(zip(cols, titles)):
    for r in range(n):
      ax = axes[r, c]
      image = np.asarray(images[r])
      if image.shape[-1] == 1:
        ax.imshow(image[..., 0], cmap='gray', vmin=0.0, vmax=1.0)
      else:  # colour; imshow would warn at values outside [0, 1]
        ax.imshow(np.clip(image, 0.0, 1.0))
      ax.set_axis_off()
      if r == 0:
        ax.set_title(column, fontsize=8)
  fig.suptitle(title, fontsize=9)
  return save(fig, path)


def code_usage(counts: np.ndarray, num_images: int, path: str) -> str:
  """How often each code is chosen on the test set: by index, and sorted (log scale)."""
  counts = np.asarray(counts, np.float64)
  p = counts / max(counts.sum(), 1.0)
  nz = p[p > 0]
  perplexity = float(np.exp(-np.sum(nz * np.log(nz))))
  used = int(np.sum(counts > 0))
  k = len(counts)
  fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.2))
  left.bar(np.arange(k), counts, width=1.0, color='tab:blue')
  left.set_xlabel('code index')
  left.set_ylabel('times chosen')
  left.set_xlim(-0.5, k - 0.5)
  right.semilogy(np.arange(1, k + 1), np.maximum(np.sort(counts)[::-1], 0.5), color='tab:red')
  right.axhline(counts.sum() / k, color='gray', ls=':', label='uniform use')
  right.set_xlabel('code rank')
  right.set_ylabel('times chosen (log)')
  right.legend()
  fig.suptitle(f'Codebook usage on {num_images} test images: {used}/{k} codes used, '
               f'perplexity {perplexity:.1f}', fontsize=10)
  fig.tight_layout(rect=(0, 0, 1, 0.92))
  return save(fig, path)
