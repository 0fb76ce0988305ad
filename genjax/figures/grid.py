"""Tiling images into one picture and saving figures; plain NumPy and matplotlib."""

from __future__ import annotations

import os

import matplotlib
import numpy as np
from etils import epy

# Figures are files and no display is assumed, unless a backend was chosen (a notebook's
# kernel sets its inline one in MPLBACKEND, and its plots should show).
if not os.environ.get('MPLBACKEND'):
  matplotlib.use('Agg')

# pyplot is imported when a figure is first drawn rather than when its family is: it takes
# a good part of a main's start, and a main refused at its flags, or a tool that draws
# nothing, never needs it. The figure modules take `plt` from here.
with epy.lazy_imports():
  import matplotlib.pyplot as plt


def tile(images: np.ndarray, ncols: int, pad: int = 1) -> np.ndarray:
  """[N, H, W(, 1)] images -> one [rows*(H+pad)-pad, ncols*(W+pad)-pad] array, pad = 1.0;
  colour images [N, H, W, 3] -> the same with their 3 channels last."""
  images = np.asarray(images)
  if images.ndim == 4 and images.shape[-1] == 1:
    images = images[..., 0]
  n, h, w = images.shape[:3]
  nrows = -(-n // ncols)
  out = np.ones((nrows * (h + pad) - pad, ncols * (w + pad) - pad) + images.shape[3:],
                images.dtype)
  for i, img in enumerate(images):
    r, c = divmod(i, ncols)
    out[r * (h + pad):r * (h + pad) + h, c * (w + pad):c * (w + pad) + w] = img
  return out


def show_tiles(ax, images: np.ndarray, ncols: int, title: str = '') -> None:
  show_image(ax, tile(images, ncols))
  ax.set_axis_off()
  if title:
    ax.set_title(title)


def show_image(ax, image: np.ndarray) -> None:
  """A tiled [h, w] gray or [h, w, 3] colour image in [0, 1] (colour clipped to it, where
  imshow would warn)."""
  if image.ndim == 3:
    ax.imshow(np.clip(image, 0.0, 1.0), interpolation='nearest')
  else:
    ax.imshow(image, cmap='gray', vmin=0.0, vmax=1.0, interpolation='nearest')


def save(fig, path: str) -> str:
  os.makedirs(os.path.dirname(path) or '.', exist_ok=True)
  fig.savefig(path, dpi=110, bbox_inches='tight')
  plt.close(fig)
  return path


def save_samples(samples: np.ndarray, out: str) -> list[str]:
  """Images as one grid PNG at their own resolution (texts as the lines of a text file),
  and the raw samples beside it as .npz; returns both paths."""
  os.makedirs(os.path.dirname(out) or '.', exist_ok=True)
  raw = os.path.splitext(out)[0] + '.npz'
  np.savez(raw, samples=samples)
  if samples.dtype.kind in 'US':
    with open(out, 'w') as f:
      f.write('\n'.join(str(s) for s in samples) + '\n')
  else:
    images = np.clip(np.asarray(samples, np.float32), 0.0, 1.0)
    plt.imsave(out, tile(images, int(np.ceil(np.sqrt(len(images))))), cmap='gray',
               vmin=0.0, vmax=1.0)
  return [out, raw]
