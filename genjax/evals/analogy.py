"""Word analogies "a is to b as c is to ?" by 3CosAdd, as word2vec's compute-accuracy does.

The question set is Mikolov et al.'s questions-words.txt (8,869 semantic and 10,675
syntactic questions in 14 sections, each headed ': name'), which ships in gensim's wheel.
The protocol is compute-accuracy.c's, which gensim's `evaluate_word_analogies` also
follows when given `restrict_vocab=30000`:

- only the `restrict` most frequent words take part (the C demo uses 30k; gensim's
  default is 300k, a different test);
- a question with a word outside them is skipped, and counted as skipped;
- vectors are unit-normalised, the answer is argmax_v cos(v, b - a + c) over the
  restricted words except a, b and c;
- sections named 'gram...' are syntactic, the others semantic (the first five).
Accuracy is over the questions answered, not skipped.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import os

import numpy as np

from genjax.errors import UserError


class AnalogiesNotFoundError(FileNotFoundError, UserError):
  """The question file is missing; the message says where it comes from."""


@dataclasses.dataclass(frozen=True)
class Section:
  name: str
  questions: tuple[tuple[str, str, str, str], ...]

  @property
  def syntactic(self) -> bool:
    return self.name.startswith('gram')


def gensim_questions_path() -> str:
  """questions-words.txt inside the installed gensim wheel, or '' without gensim.

  Found without importing gensim (slow, and only a test and benchmark extra)."""
  spec = importlib.util.find_spec('gensim')
  if spec is None or not spec.submodule_search_locations:
    return ''
  path = os.path.join(list(spec.submodule_search_locations)[0], 'test', 'test_data',
                      'questions-words.txt')
  return path if os.path.isfile(path) else ''


def read_questions(path: str) -> list[Section]:
  """The sections of a questions-words file, every word lowercased."""
  if not os.path.isfile(path):
    raise AnalogiesNotFoundError(
        f'No analogy questions at {path}; install gensim (`pip install -e ".[test]"` '
        'brings it) for its questions-words.txt, or set --config.eval.analogies to a file '
        'of ": section" headers and "a b c d" lines.')
  sections, name, questions = [], None, []
  with open(path, encoding='utf-8') as f:
    for line in f:
      if line.startswith(': '):
        if name is not None:
          sections.append(Section(name, tuple(questions)))
        name, questions = line[2:].strip(), []
        continue
      parts = line.lower().split()
      if len(parts) == 4 and name is not None:
        questions.append(tuple(parts))
  if name is not None:
    sections.append(Section(name, tuple(questions)))
  if not any(s.questions for s in sections):
    raise UserError(f'{path} holds no analogy questions; each section starts ": name" '
                    'and each question is four words on a line.')
  return sections


def unit_rows(vectors: np.ndarray) -> np.ndarray:
  """Rows scaled to unit length (zero rows stay zero)."""
  vectors = np.asarray(vectors, np.float32)
  norms = np.linalg.norm(vectors, axis=1, keepdims=True)
  return vectors / np.maximum(norms, 1e-12)


def answer(unit: np.ndarray, a: np.ndarray, b: np.ndarray, c: np.ndarray,
           chunk: int = 2048) -> np.ndarray:
  """3CosAdd answers: argmax over rows of unit @ (unit[b] - unit[a] + unit[c]), never a, b
  or c. All ids index `unit` [R, d]; returns int [n]."""
  out = np.empty(len(a), np.int64)
  for start in range(0, len(a), chunk):
    s = slice(start, start + chunk)
    query = unit[b[s]] - unit[a[s]] + unit[c[s]]
    scores = query @ unit.T
    rows = np.arange(len(query))
    for excluded in (a[s], b[s], c[s]):
      scores[rows, excluded] = -np.inf
    out[s] = np.argmax(scores, axis=1)
  return out


def accuracy(vectors: np.ndarray, words, sections: list[Section], *,
             restrict: int = 30000) -> dict[str, object]:
  """Analogy accuracy of word vectors, per section and semantic/syntactic/total.

  Args:
    vectors: [V, d], row i the vector of words[i]; words are ordered most frequent first.
    words: the vocabulary, in the rows' order.
    sections: from `read_questions`.
    restrict: only the first `restrict` words take part (0: all).

  Returns:
    {'total', 'semantic', 'syntactic'}: accuracies in [0, 1] (nan with nothing answered);
    'answered', 'skipped' and 'correct' counts for each of them; 'sections': a list of
    (name, correct, answered, skipped).
  """
  limit = len(words) if not restrict else min(restrict, len(words))
  index = {w: i for i, w in enumerate(list(words)[:limit])}
  unit = unit_rows(np.asarray(vectors)[:limit])
  per_section = []
  for section in sections:
    ids = [[index[w] for w in q] for q in section.questions if all(w in index for w in q)]
    skipped = len(section.questions) - len(ids)
    if ids:
      ids = np.asarray(ids)
      correct = int(np.sum(answer(unit, ids[:, 0], ids[:, 1], ids[:, 2]) == ids[:, 3]))
    else:
      correct = 0
    per_section.append((section.name, correct, len(ids), skipped))

  out: dict[str, object] = {'sections': per_section}
  groups = {'semantic': lambda s: not s.syntactic, 'syntactic': lambda s: s.syntactic,
            'total': lambda s: True}
  for group, member in groups.items():
    rows = [r for r, s in zip(per_section, sections) if member(s)]
    correct, answered, skipped = (sum(r[i] for r in rows) for i in (1, 2, 3))
    out[group] = correct / answered if answered else float('nan')
    out[f'{group}_correct'], out[f'{group}_answered'] = correct, answered
    out[f'{group}_skipped'] = skipped
  return out


def nearest(vectors: np.ndarray, ids: np.ndarray, k: int) -> np.ndarray:
  """The k nearest rows by cosine to each of `ids` (itself excluded), int [len(ids), k]."""
  unit = unit_rows(vectors)
  scores = unit[ids] @ unit.T
  scores[np.arange(len(ids)), ids] = -np.inf
  return np.argsort(-scores, axis=1)[:, :k]
