"""The analogy evaluation: gensim's `evaluate_word_analogies` accuracy reproduced on fixed
vectors with the same vocabulary restriction, and 3CosAdd's exclusions."""

import numpy as np
import pytest

from genjax.evals import analogy

gensim_models = pytest.importorskip('gensim.models')  # a test extra


def _planted_vectors(sections, seed=0, dim=24):
  """Vectors of every question word, in a fixed shuffled order, with the relation of each
  section planted as an offset plus noise, so that a fair share of questions is right."""
  rng = np.random.default_rng(seed)
  words = sorted({w for s in sections for q in s.questions for w in q})
  words = [words[i] for i in rng.permutation(len(words))]
  index = {w: i for i, w in enumerate(words)}
  vectors = rng.normal(size=(len(words), dim))
  for s in sections:
    offset = rng.normal(size=dim) * 1.5
    for a, b, c, d in s.questions[:40]:
      for x, y in ((a, b), (c, d)):
        vectors[index[y]] = vectors[index[x]] + offset + 0.6 * rng.normal(size=dim)
  return words, vectors.astype(np.float32)


def test_accuracy_reproduces_gensims_with_the_same_vocabulary_restriction():
  path = analogy.gensim_questions_path()
  sections = analogy.read_questions(path)
  assert [len(s.questions) for s in sections][:2] == [506, 4524]
  assert sum(len(s.questions) for s in sections if not s.syntactic) == 8869
  assert sum(len(s.questions) for s in sections if s.syntactic) == 10675
  words, vectors = _planted_vectors(sections)
  restrict = 700  # of 905 words: questions with a rarer word are skipped
  ours = analogy.accuracy(vectors, words, sections, restrict=restrict)

  kv = gensim_models.KeyedVectors(vectors.shape[1])
  kv.add_vectors(words, vectors)
  score, theirs = kv.evaluate_word_analogies(path, restrict_vocab=restrict)
  assert 0.05 < ours['total'] < 0.95  # neither trivially right nor wrong
  assert ours['total'] == pytest.approx(score, abs=1e-12)
  for (name, correct, answered, skipped), section in zip(ours['sections'], theirs[:-1]):
    assert name == section['section']
    assert (correct, answered) == (len(section['correct']),
                                   len(section['correct']) + len(section['incorrect']))
  assert ours['total_answered'] + ours['total_skipped'] == 19544
  assert ours['total_skipped'] > 0
  assert ours['semantic_answered'] + ours['syntactic_answered'] == ours['total_answered']


def test_the_question_words_are_never_the_answer():
  # With c = a the query b - a + c is b itself, its own best match; b is excluded, so
  # the answer is the next nearest row, 0.
  unit = analogy.unit_rows(np.array([[1, 0, 0], [1, 0.1, 0], [0, 1, 0], [0.9, 0.5, 0.1],
                                     [0, 0, 1]], np.float32))
  assert np.argmax(unit @ unit[1]) == 1
  got = analogy.answer(unit, np.array([2]), np.array([1]), np.array([2]))
  assert got[0] == 0


def test_nearest_excludes_the_word_and_orders_by_cosine():
  vectors = np.array([[1, 0], [2, 0.1], [0, 1], [1, 1]], np.float32)
  np.testing.assert_array_equal(analogy.nearest(vectors, np.array([0]), 3), [[1, 3, 2]])


def test_a_missing_question_file_names_where_to_get_one(tmp_path):
  with pytest.raises(analogy.AnalogiesNotFoundError, match='install gensim'):
    analogy.read_questions(str(tmp_path / 'none.txt'))
