"""The Fréchet distance against sampling steps, from the JSON `fd_vs_steps` wrote."""

from __future__ import annotations

import json

from matplotlib import ticker

from genjax.figures.grid import plt, save

_STYLE = {'ddim': ('DDIM (eta = 0)', 'o-'), 'ddpm': ('strided ancestral DDPM', 's--')}


def plot_fd_vs_steps(json_path: str, png_path: str) -> str:
  with open(json_path) as f:
    r = json.load(f)
  fig, ax = plt.subplots(figsize=(6, 4))
  for name, values in r['fd'].items():
    label, style = _STYLE.get(name, (name, 'o-'))
    ax.plot(r['steps'], values, style, label=label)
  ax.axhline(r['floor'], color='gray', ls=':',
             label=f'floor: {r["floor_train_samples"]} train images')
  ax.set_xscale('log')
  ax.set_xticks(r['steps'], [str(n) for n in r['steps']])
  ax.xaxis.set_minor_locator(ticker.NullLocator())
  ax.set_xlabel('sampling steps')
  ax.set_ylabel('Fréchet distance (classifier features)')
  ax.set_title(f'Fréchet distance of {r["num_samples"]} samples to the test set')
  ax.legend()
  return save(fig, png_path)
