"""DDPM figures from a run's artifacts: samples, DDIM samples, the forward process, classes."""

from __future__ import annotations

import os

import matplotlib.pyplot as plt
import numpy as np

from genjax.figures.grid import save, show_tiles


def render_run(artifacts_path: str, out_dir: str) -> list[str]:
  a = dict(np.load(artifacts_path))
  paths = []
  fd = f' (Fréchet distance {float(a["frechet_distance"]):.2f})' if 'frechet_distance' in a \
      else ''
  for key, title in (('samples', 'Ancestral DDPM samples'),
                     ('ddim_samples', 'DDIM samples' + fd)):
    cols = int(np.ceil(np.sqrt(len(a[key]))))
    fig, ax = plt.subplots(figsize=(6, 6))
    show_tiles(ax, a[key], cols, title)
    paths.append(save(fig, os.path.join(out_dir, f'{key}.png')))
  fp = a['forward_process']
  fig, ax = plt.subplots(figsize=(fp.shape[1] * 0.8, fp.shape[0] * 0.8))
  show_tiles(ax, fp.reshape((-1,) + fp.shape[2:]), fp.shape[1],
             'q(x_t | x_0) at t = ' + ', '.join(str(t) for t in a['forward_timesteps']))
  paths.append(save(fig, os.path.join(out_dir, 'forward_process.png')))
  if 'class_grid' in a:
    labels = a['class_grid_labels']
    per_row = len(labels) // len(np.unique(labels))
    fig, ax = plt.subplots(figsize=(per_row * 0.6, len(np.unique(labels)) * 0.6))
    show_tiles(ax, a['class_grid'], per_row,
               f'Classifier-free guidance, w = {float(a["guidance_scale"]):g}: one class a row')
    paths.append(save(fig, os.path.join(out_dir, 'class_grid.png')))
  return paths
