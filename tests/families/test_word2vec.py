"""word2vec's skip-gram family: the Levy-Goldberg optimum on a tiny corpus, the smoke run
from its command line, bitwise identity on 1 and 2 devices (with either sampler), and its
refusals."""

import json
import os
import subprocess
import sys

import jax
import numpy as np
import pytest

from configs import word2vec as word2vec_config
from genjax.data.corpus import CorpusNotFoundError
from genjax.data.sources import DataError
from genjax.families import word2vec
from genjax.training.state import create_train_state
from tests.smoke_runs import trained

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
WORDS = ('alpha', 'bravo', 'charlie', 'delta', 'echo', 'foxtrot')


def _markov_text(path, n=20000, seed=0):
  """Words from a Markov chain with uneven transitions, so PMI varies between pairs."""
  rng = np.random.default_rng(seed)
  transition = rng.dirichlet(np.full(len(WORDS), 0.4), size=len(WORDS))
  state, out = 0, []
  for _ in range(n):
    state = rng.choice(len(WORDS), p=transition[state])
    out.append(WORDS[state])
  path.write_text(' '.join(out))


def _config(**fields):
  c = word2vec_config.get_config('smoke')
  c.unlock()
  for key, value in fields.items():
    node = c
    *parents, leaf = key.split('.')
    for p in parents:
      node = node[p]
    node[leaf] = value
  return c


def test_trained_vectors_reach_the_shifted_pmi_of_levy_and_goldberg(tmp_path):
  # SGNS with K negatives from Pn, skipping a negative equal to the context, is minimised
  # per pair at w.c = log P(w,c) - log(P(w) - P(w,c)) - log K - log Pn(c) (Levy & Goldberg
  # 2014's PMI(w,c) - log K, with Pn for the unigram and the skip's correction), reachable
  # here because dim >= V.
  _markov_text(tmp_path / 'markov.txt')
  k, window, steps = 3, 2, 4000
  c = _config(**{'data.corpus': str(tmp_path / 'markov.txt'), 'data.subsample': 0.0,
                 'data.window': window, 'objective.num_negatives': k, 'batch_size': 256,
                 'total_steps': steps, 'optimizer.learning_rate': 0.002, 'model.dim': 8,
                 'data.held_out_every': 50})
  data = word2vec.data(c, 0, 1)
  family = word2vec.build(c, data.info)
  v = data.info.vocab_size
  assert v == len(WORDS)
  state = _train(family, data, steps)
  dots = np.asarray(state.params['center'] @ state.params['context'].T)
  tokens = data.train._tokens  # pylint: disable=protected-access
  joint = _pair_distribution(tokens, v, window)
  marginal = joint.sum(1, keepdims=True)
  counts = np.bincount(tokens, minlength=v)
  noise = counts ** 0.75 / np.sum(counts ** 0.75)
  target = np.log(joint) - np.log(marginal - joint) - np.log(k) - np.log(noise)[None, :]
  frequent = joint > 0.005
  assert frequent.sum() > 20 and np.ptp(target[frequent]) > 2  # PMI varies a lot
  error = np.abs(dots - target)[frequent]
  assert np.corrcoef(dots[frequent], target[frequent])[0, 1] > 0.98, (dots, target)
  assert np.median(error) < 0.15 and error.max() < 0.5, (dots, target)


def test_full_softmax_training_reaches_the_texts_conditional(tmp_path):
  # The full softmax's optimum is p(c | w) = P(c | w) of the pair distribution itself.
  _markov_text(tmp_path / 'markov.txt', n=5000)
  window, steps = 2, 1500
  c = _config(**{'data.corpus': str(tmp_path / 'markov.txt'), 'data.subsample': 0.0,
                 'data.window': window, 'objective.name': 'softmax', 'batch_size': 256,
                 'total_steps': steps, 'optimizer.learning_rate': 0.005, 'model.dim': 8,
                 'data.held_out_every': 50})
  data = word2vec.data(c, 0, 1)
  family = word2vec.build(c, data.info)
  state = _train(family, data, steps)
  probs = np.asarray(jax.nn.softmax(state.params['center'] @ state.params['context'].T))
  joint = _pair_distribution(data.train._tokens, len(WORDS), window)  # pylint: disable=protected-access
  conditional = joint / joint.sum(1, keepdims=True)
  np.testing.assert_allclose(probs.sum(1), 1.0, rtol=1e-5)
  assert np.abs(probs - conditional).max() < 0.03, (probs, conditional)


def _train(family, data, steps):
  """The family's update, jitted, over the stream's first `steps` batches."""
  state = create_train_state(family.training.init_params(jax.random.PRNGKey(0), None), None,
                             jax.random.PRNGKey(1), ema=False)
  step = jax.jit(lambda s, b: family.training.update_fn(s, b, None, None)[0].replace(step=s.step + 1),
                 donate_argnums=0)
  for s in range(0, steps, 50):
    batches = data.train.stacked(s, 50)
    for i in range(50):
      state = step(state, {key: b[i] for key, b in batches.items()})
  return state


def _pair_distribution(tokens, v, window):
  """The joint P(w, c) the stream draws pairs from: every (i, i+d) inside the text,
  weighted window - |d| + 1."""
  joint = np.zeros((v, v))
  for d in range(1, window + 1):
    for a, b in ((tokens[:-d], tokens[d:]), (tokens[d:], tokens[:-d])):
      np.add.at(joint, (a, b), window - d + 1)
  return joint / joint.sum()


@pytest.mark.slow
def test_smoke_run_reports_likelihood_and_analogies():
  result = trained('word2vec')
  one = result.workdir
  assert 'examples/s' in result.stdout and 'ETA' in result.stdout  # progress is shown
  rows = [json.loads(line) for line in open(one / 'metrics.jsonl')]
  test = [r for r in rows if r['split'] == 'test'][-1]
  assert 0 < test['context_nll_se'] < 0.5 and test['context_nll'] > 0
  artifacts = [r for r in rows if r['split'] == 'artifacts'][-1]
  # The tiny question file: 14 questions, one with 'tokyo', not in the text, skipped.
  assert artifacts['analogy_total_answered'] == 13 and artifacts['analogy_total_skipped'] == 1
  assert 0 <= artifacts['analogy_total'] <= 1
  for name in ('pca_pairs.png', 'analogy_sections.png'):
    assert os.path.getsize(one / 'figures' / name) > 1000
  assert '| paris |' in (one / 'figures' / 'neighbours.md').read_text()


@pytest.mark.parametrize('sampler', ['host', 'device'])
def test_steps_are_bitwise_equal_on_one_and_two_devices(sampler, two_device_steps):
  # The host sampler splits one global batch over the devices; the device sampler has
  # every device draw the whole batch from its position. Either way the replicated tables
  # get the same update, so two devices give bitwise one device's vectors.
  out = two_device_steps[sampler]
  assert out['devices'] == 2 and out['shards'] == 2  # the batch was split over both
  assert out['moved'] and all(np.isfinite(out['loss_one']))
  assert out['bitwise_equal'] and out['loss_one'] == out['loss_two'], out


@pytest.fixture(scope='module')
def two_device_steps():
  """Both samplers' steps on one and on two devices, in one process of 2 forced devices."""
  script = os.path.join(os.path.dirname(__file__), 'word2vec_devices_check.py')
  result = subprocess.run([sys.executable, script], cwd=REPO, capture_output=True,
                          text=True, timeout=600)
  assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
  return json.loads(result.stdout.strip().splitlines()[-1])


def test_refusals_name_the_fix(tmp_path):
  # UserErrors, which the mains print as one line (tests/test_bad_inputs.py).
  with pytest.raises(DataError, match='lower --config.data.min_count'):
    word2vec.data(_config(**{'data.min_count': 10**6}), 0, 1)
  with pytest.raises(CorpusNotFoundError, match='give the path of a UTF-8 text file'):
    word2vec.data(_config(**{'data.corpus': str(tmp_path / 'missing.txt')}), 0, 1)


def test_built_without_the_data_it_evaluates_as_with_it_and_reads_no_question_file(tmp_path):
  from genjax.data import info_file  # pylint: disable=g-import-not-at-top
  from genjax.evals.analogy import AnalogiesNotFoundError  # pylint: disable=g-import-not-at-top
  from genjax.training.family import Inference, StepContext  # pylint: disable=g-import-not-at-top
  c = _config()
  data = word2vec.data(c, 0, 1)
  info_file.write(data.info, str(tmp_path))
  full = word2vec.build(c, data.info)
  # genjax.load builds from the light info, on a machine that may lack the questions file
  # the run named: build reads no file.
  gone = _config(**{'eval.analogies': str(tmp_path / 'gone.txt')})
  light = word2vec.build(gone, info_file.read(str(tmp_path)))
  assert light.inference == Inference()  # p(context | word): no text to sample or score
  rng, context = jax.random.PRNGKey(0), StepContext()
  params = full.training.init_params(rng, None)
  batch = next(iter(data.splits['test'](64, 0, 1, 64)))
  batch.pop('mask')
  jax.tree.map(np.testing.assert_array_equal,
               light.reporting.eval_fn(params, batch, rng, context),
               full.reporting.eval_fn(params, batch, rng, context))
  # The questions are read when the artifacts are made (the tiny file: 13 of 14 answered).
  artifacts = full.reporting.artifacts_fn(params, rng, context)
  assert artifacts['analogy_total_answered'] == 13
  # A training run that names a missing file stops before its first step, in data.
  with pytest.raises(AnalogiesNotFoundError, match='No analogy questions'):
    word2vec.data(gone, 0, 1)
