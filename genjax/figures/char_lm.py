"""The character model's samples as text, from a run's artifacts: samples.txt.

Each sample is a whole window, the prompt between ⟦ ⟧ and the drawn characters after it,
with the model's own bits per drawn character (temperature 1, unfiltered). Plain NumPy;
it never imports the training loop.
"""

from __future__ import annotations

import os

import numpy as np


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


def render_run(artifacts_path: str, out_dir: str) -> list[str]:
  with np.load(artifacts_path) as a:
    text = samples_text(a)
  os.makedirs(out_dir, exist_ok=True)
  path = os.path.join(out_dir, 'samples.txt')
  with open(path, 'w', encoding='utf-8') as f:
    f.write(text)
  return [path]
