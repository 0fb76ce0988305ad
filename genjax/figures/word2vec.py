"""word2vec figures from a run's artifacts: the 2-D PCA of country-capital and tense pairs
(Mikolov et al. 2013b, Fig. 2), analogy accuracy by section, and nearest neighbours."""

from __future__ import annotations

import os

import numpy as np

from genjax.figures.grid import plt, save

_PANELS = (('capital', 'country and capital'), ('tense', 'present participle and past tense'))


def render_run(artifacts_path: str, out_dir: str) -> list[str]:
  a = dict(np.load(artifacts_path))
  paths = []
  panels = [(key, title) for key, title in _PANELS if f'pca_{key}_points' in a]
  if panels:
    fig, axes = plt.subplots(1, len(panels), figsize=(6 * len(panels), 5.5), squeeze=False)
    for ax, (key, title) in zip(axes[0], panels):
      _pairs_panel(ax, a[f'pca_{key}_points'], a[f'pca_{key}_words'], title)
    fig.suptitle('Word vectors projected on their top two principal axes, each panel its own '
                 'PCA; an arrow per pair', fontsize=10)
    paths.append(save(fig, os.path.join(out_dir, 'pca_pairs.png')))
  if 'section_names' in a:
    paths.append(_sections(a, os.path.join(out_dir, 'analogy_sections.png')))
  if 'neighbours' in a:
    paths.append(write_neighbours(a['neighbour_words'], a['neighbours'],
                                  os.path.join(out_dir, 'neighbours.md')))
  return paths


def _pairs_panel(ax, points: np.ndarray, words: np.ndarray, title: str) -> None:
  """points [P, 2, 2]: pair p's two words' 2-D positions; words [P, 2]."""
  for (start, end), (first, second) in zip(points, words):
    ax.annotate('', xy=end, xytext=start,
                arrowprops=dict(arrowstyle='->', color='0.6', lw=0.8))
    ax.text(*start, first, fontsize=8, color='tab:blue', ha='center', va='bottom')
    ax.text(*end, second, fontsize=8, color='tab:red', ha='center', va='top')
  flat = points.reshape(-1, 2)
  margin = 0.1 * (flat.max(0) - flat.min(0) + 1e-6)
  ax.set_xlim(flat[:, 0].min() - margin[0], flat[:, 0].max() + margin[0])
  ax.set_ylim(flat[:, 1].min() - margin[1], flat[:, 1].max() + margin[1])
  ax.set_title(title, fontsize=10)
  ax.set_xticks([])
  ax.set_yticks([])


def _sections(a: dict, path: str) -> str:
  names = a['section_names']
  correct, answered, skipped = a['section_correct_answered_skipped'].T
  accuracy = np.where(answered > 0, correct / np.maximum(answered, 1), 0.0)
  fig, ax = plt.subplots(figsize=(8, 0.32 * len(names) + 1.2))
  y = np.arange(len(names))[::-1]
  ax.barh(y, 100 * accuracy, color=['tab:blue' if not str(n).startswith('gram') else
                                    'tab:orange' for n in names])
  ax.set_yticks(y, [f'{n} ({c}/{q}, {s} skipped)' for n, c, q, s in
                    zip(names, correct, answered, skipped)], fontsize=7)
  ax.set_xlabel('accuracy on the questions answered (%)')
  ax.set_title(f'Analogies by 3CosAdd: semantic (blue) and syntactic (orange); total '
               f'{100 * float(a.get("analogy_total", np.nan)):.1f}%', fontsize=9)
  return save(fig, path)


def write_neighbours(words: np.ndarray, neighbours: np.ndarray, path: str) -> str:
  """A Markdown table: each word and its nearest words by cosine, nearest first."""
  os.makedirs(os.path.dirname(path) or '.', exist_ok=True)
  lines = ['| word | nearest words by cosine |', '|---|---|']
  lines += [f'| {w} | {", ".join(row)} |' for w, row in zip(words, neighbours)]
  with open(path, 'w') as f:
    f.write('\n'.join(lines) + '\n')
  return path
