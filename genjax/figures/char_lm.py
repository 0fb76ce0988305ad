"""The character model's samples from a run's artifacts: samples.txt and samples.png.

Each sample is a whole window, the prompt between ⟦ ⟧ (in the picture: in blue) and the
drawn characters after it, with the model's own bits per drawn character (temperature 1,
unfiltered). Plain NumPy and matplotlib; it never imports the training loop.
"""

from __future__ import annotations

import os

import numpy as np
from matplotlib.offsetbox import AnchoredOffsetbox, HPacker, TextArea, VPacker

from genjax.figures.grid import plt, save

_COLUMNS = 80  # characters per line of the picture; longer windows wrap
_VISIBLE = {'\n': '↵', '\t': '→', '\r': '␍'}  # drawn as symbols, so every character shows


def samples_text(a) -> str:
  """The text of samples.txt from the artifacts mapping `a` (see `families.char_lm`)."""
  lines = ['Character model samples, one window each: the prompt between ⟦ ⟧, then the '
           'drawn characters;', 'bits/char is the model\'s own log-likelihood of the drawn '
           'characters (temperature 1, unfiltered).', '']
  for t, k, texts, bits in zip(a['temperatures'], a['top_k'], a['sample_text'],
                               a['sample_bits_per_char']):
    lines.append(f'=== temperature {t:g}, top-k {int(k) or "off"} ===')
    for prompt, text, b in zip(a['prompts'], texts, bits):
      prompt = str(prompt)
      lines += [f'--- {len(text) - len(prompt)} characters drawn, {b:.3f} bits/char ---',
                f'⟦{prompt}⟧{str(text)[len(prompt):]}', '']
  return '\n'.join(lines)


def _visible(text: str) -> str:
  return ''.join(_VISIBLE.get(c, c if c.isprintable() else '·') for c in text)


def _text(text: str, **props) -> TextArea:
  # parse_math=False: a '$' in the text is a character, not mathtext.
  return TextArea(text, textprops=dict(family='monospace', size=8, parse_math=False,
                                       **props))


def _window_lines(prompt: str, text: str) -> list[HPacker]:
  """The window wrapped at _COLUMNS characters, its prompt in blue."""
  prompt, text = _visible(prompt), _visible(text)
  lines = []
  for start in range(0, max(len(text), 1), _COLUMNS):
    end = min(start + _COLUMNS, len(text))
    cut = min(max(len(prompt), start), end)
    parts = [_text(text[start:cut], color='tab:blue', weight='bold')] if cut > start else []
    parts += [_text(text[cut:end])] if end > cut else []
    lines.append(HPacker(children=parts or [_text(' ')], pad=0, sep=0))
  return lines


def samples_figure(a, path: str) -> str:
  """samples.png: each temperature's samples, one window each, the prompt in blue."""
  rows = []
  for t, k, texts, bits in zip(a['temperatures'], a['top_k'], a['sample_text'],
                               a['sample_bits_per_char']):
    rows.append(TextArea(f'temperature {t:g}, top-k {int(k) or "off"}',
                         textprops=dict(size=9, weight='bold')))
    for prompt, text, b in zip(a['prompts'], texts, bits):
      prompt, text = str(prompt), str(text)
      rows.append(TextArea(f'{len(text) - len(prompt)} characters drawn, {b:.3f} bits/char',
                           textprops=dict(size=7, color='0.4')))
      rows += _window_lines(prompt, text)
  columns = min(_COLUMNS, max(len(str(t)) for t in np.ravel(a['sample_text'])))
  fig = plt.figure(figsize=(0.075 * max(columns, 50) + 0.4, 0.17 * len(rows) + 0.3))
  ax = fig.add_axes((0, 0, 1, 1))
  ax.set_axis_off()
  ax.add_artist(AnchoredOffsetbox(
      loc='upper left', child=VPacker(children=rows, pad=0, sep=3, align='left'),
      frameon=False, pad=0.2, borderpad=0.5))
  fig.suptitle('Samples: the prompt in blue, then the drawn characters '
               '(bits/char: the model\'s own, temperature 1)', fontsize=8, y=1.0,
               va='bottom')
  return save(fig, path)


def render_run(artifacts_path: str, out_dir: str) -> list[str]:
  with np.load(artifacts_path) as a:
    a = dict(a)
  text = samples_text(a)
  os.makedirs(out_dir, exist_ok=True)
  path = os.path.join(out_dir, 'samples.txt')
  with open(path, 'w', encoding='utf-8') as f:
    f.write(text)
  return [path, samples_figure(a, os.path.join(out_dir, 'samples.png'))]
