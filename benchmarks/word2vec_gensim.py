"""genjax vs gensim word2vec (skip-gram, negative sampling) on dict-gcide, side by side.

Command (from the repository root, with the `bench` extra; the .txt is this output):

  .venv/bin/python -m benchmarks.word2vec_gensim \
      --out results/benchmarks/word2vec_gensim.json | tee results/benchmarks/word2vec_gensim.txt

Every side trains from scratch on the same text with the same settings, those of
configs/word2vec.py (100-d, window 5, 5 negatives, sample 1e-4, min_count 5, 5 epochs,
rate 0.025 decaying linearly), and is then scored by genjax's own evaluators:

* genjax: the family's update through the loop's compiled step (`make_train_step`, the
  config's fused steps a call), batches drawn by its stream and put on the device inside
  the timed loop, as the training loop does;
* gensim's `Word2Vec` (sg=1, hs=0) with 1 and with 2 worker threads, `build_vocab` before
  the clock starts and `train` timed; its vectors (wv) and context vectors (syn1neg) are
  reordered into genjax's vocabulary (the same words: min_count on the same text).

Words/s is the training text's words (before min_count and subsampling) times the epochs,
over the training wall time, for every side alike. Scores: analogy accuracy over the 30k
most frequent words (semantic, syntactic, total; compute-accuracy.c's protocol, which
matches gensim's `evaluate_word_analogies(restrict_vocab=30000)`, tests/evals), and the
held-out log-likelihood log p(c | w) of the softmax over W.C, and of softmax(W.C + log Pn),
on the same 20,000 held-out pairs. Sides run in turn each repeat (interleaved), so a burst
of background load hits all of them; the table gives medians over repeats. gensim with
several workers is not deterministic, so its accuracy varies between repeats.
"""

from __future__ import annotations

import argparse
import time

import jax
import numpy as np

from benchmarks.harness import (command_line, interleaved_repeats, jax_environment,
                                machine_busy, print_machine_facts, report_load, write_json)
from configs import word2vec as word2vec_config
from genjax import config as config_lib
from genjax.data import corpus, text
from genjax.evals import analogy
from genjax.families import word2vec
from genjax.objectives import word2vec as objectives
from genjax.training import mesh as mesh_lib
from genjax.training.state import create_train_state
from genjax.training.step import make_train_step

GOAL = 'genjax words/s >= gensim with 2 workers, analogy accuracy within 1 point or better'


def parse(argv=None):
  p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
  p.add_argument('--out', default='', help='write the results as JSON to this path')
  p.add_argument('--repeats', type=int, default=3, help='interleaved repeats')
  p.add_argument('--epochs', type=float, default=0, help='0: the config\'s (5)')
  p.add_argument('--max-chars', type=int, default=0, help='use only the text\'s start')
  p.add_argument('--batch-sizes', default='', help='genjax batch sizes, comma-separated '
                 '(default: the config\'s); each is a side of its own')
  p.add_argument('--workers', default='1,2', help='gensim worker counts')
  p.add_argument('--quick', action='store_true',
                 help='1 repeat, 1 epoch on the first 6M characters: checks the script')
  return p.parse_args(argv)


def _config(args, batch_size: int = 0):
  c = word2vec_config.get_config()
  c.unlock()
  if args.epochs:
    c.total_epochs = args.epochs
  if args.max_chars:
    c.data.max_chars = args.max_chars
  if batch_size:
    c.batch_size = batch_size
  return c


class Genjax:
  """word2vec trained by the family's compiled update, as the training loop runs it."""

  def __init__(self, config, data):
    self.config, self.data = config, data
    self.family = word2vec.build(config, data.info)
    self.mesh = mesh_lib.make_mesh()
    self.step = make_train_step(self.family.update_fn, self.mesh)
    self.total = config_lib.total_steps(config, data.train.num_examples)
    self._train(1, calls=1)  # compiles outside the clock

  def _train(self, seed: int, calls: int | None = None):
    k = self.config.steps_per_call
    state = create_train_state(self.family.init_params(jax.random.PRNGKey(seed), None), None,
                               jax.random.PRNGKey(seed), ema=False)
    state = jax.device_put(state, mesh_lib.replicated(self.mesh))
    for s in range(0, self.total if calls is None else calls * k, k):
      batches = mesh_lib.global_batch(self.data.train.stacked(s, k), self.mesh, batch_axis=1)
      state, _ = self.step(state, batches)
    return jax.block_until_ready(state.params)

  def train(self, seed: int):
    params = self._train(seed)
    return np.asarray(params['center']), np.asarray(params['context'])


class Gensim:
  """gensim's Word2Vec on the same words, its vectors in genjax's vocabulary order."""

  def __init__(self, config, train_words, vocabulary, workers: int):
    from gensim.models import Word2Vec  # pylint: disable=g-import-not-at-top
    d = config.data
    self.make = lambda seed: Word2Vec(
        vector_size=config.model.dim, window=d.window, min_count=d.min_count, sg=1, hs=0,
        negative=config.objective.num_negatives, sample=d.subsample, workers=workers,
        alpha=config.optimizer.learning_rate, seed=seed)
    self.epochs = max(1, int(round(config.total_epochs)))
    self.sentences = [train_words[i:i + 10000] for i in range(0, len(train_words), 10000)]
    self.vocabulary = vocabulary

  def train(self, seed: int):
    model = self.make(seed)
    model.build_vocab(self.sentences)
    start = time.perf_counter()
    model.train(self.sentences, total_examples=model.corpus_count, epochs=self.epochs)
    seconds = time.perf_counter() - start
    rows = [model.wv.key_to_index[w] for w in self.vocabulary.words]
    return np.asarray(model.wv.vectors[rows]), np.asarray(model.syn1neg[rows]), seconds


def scores(center, context, vocabulary, questions, pairs, log_noise) -> dict[str, float]:
  acc = analogy.accuracy(center, vocabulary.words, questions, restrict=30000)
  out = {f'analogy_{g}': acc[g] for g in ('total', 'semantic', 'syntactic')}
  out['analogy_answered'] = acc['total_answered']
  nll, tilted = [], []
  for i in range(0, len(pairs['center']), 500):
    w = center[pairs['center'][i:i + 500]]
    c = pairs['context'][i:i + 500]
    nll.append(np.asarray(objectives.softmax_nll(w, context, c)))
    tilted.append(np.asarray(objectives.softmax_nll(w, context, c, log_prior=log_noise)))
  nll, tilted = np.concatenate(nll), np.concatenate(tilted)
  out['heldout_nll'] = float(nll.mean())
  out['heldout_nll_se'] = float(nll.std(ddof=1) / np.sqrt(len(nll)))
  out['heldout_nll_times_noise'] = float(tilted.mean())
  return out


def main(argv=None):
  args = parse(argv)
  if args.quick:
    args.repeats, args.epochs, args.max_chars = 1, 1, args.max_chars or 6_000_000
  machine = print_machine_facts()
  env = jax_environment()
  base = _config(args)
  d = base.data
  train_words, held_words = corpus.split(corpus.words(corpus.read_text(d.corpus, d.max_chars)),
                                         block=d.block, held_out_every=d.held_out_every)
  data = word2vec.data(base, 0, 1)
  vocabulary = data.info.vocabulary
  held = vocabulary.encode(held_words)
  pairs = text.skipgram_eval_pairs(held, window=d.window, num_pairs=d.eval_pairs,
                                   seed=word2vec._EVAL_PAIRS_SEED)  # pylint: disable=protected-access
  questions = analogy.read_questions(analogy.gensim_questions_path())
  log_noise = np.log(text.noise_distribution(vocabulary.counts)).astype(np.float32)
  words = len(train_words) * base.total_epochs
  print(f'{d.corpus}: {len(train_words):,} training words, vocabulary {len(vocabulary):,}, '
        f'{base.total_epochs:g} epochs = {words:,.0f} words to train on', flush=True)

  sides, results = {}, {}
  for b in [int(x) for x in args.batch_sizes.split(',') if x] or [base.batch_size]:
    config = _config(args, b)
    side = Genjax(config, word2vec.data(config, 0, 1) if b != base.batch_size else data)

    def measure(side=side, name=f'genjax (batch {b})'):
      start = time.perf_counter()
      center, context = side.train(seed=len(results.get(name, [])))
      seconds = time.perf_counter() - start
      results.setdefault(name, []).append(
          {'seconds': seconds, **scores(center, context, vocabulary, questions, pairs,
                                        log_noise)})
      return words / seconds

    sides[f'genjax (batch {b})'] = measure
  for workers in [int(x) for x in args.workers.split(',') if x]:
    side = Gensim(base, train_words, vocabulary, workers)

    def measure(side=side, name=f'gensim ({workers} worker{"s" * (workers > 1)})'):
      center, context, seconds = side.train(seed=1 + len(results.get(name, [])))
      results.setdefault(name, []).append(
          {'seconds': seconds, **scores(center, context, vocabulary, questions, pairs,
                                        log_noise)})
      return words / seconds

    sides[f'gensim ({workers} worker{"s" * (workers > 1)})'] = measure

  raw, others = interleaved_repeats(sides, args.repeats)
  busy = machine_busy(others)
  table = {}
  print(f'\n| side | words/s (median of {args.repeats}) | train s | analogy total | semantic '
        '| syntactic | held-out nats/pair (softmax W.C) | (W.C + log Pn) |')
  print('|---|---|---|---|---|---|---|---|')
  for name, rates in raw.items():
    med = lambda key: float(np.median([r[key] for r in results[name]]))
    row = {'words_per_sec': float(np.median(rates)), 'words_per_sec_per_repeat': rates,
           **{k: med(k) for k in results[name][0]}, 'per_repeat': results[name]}
    table[name] = row
    print(f"| {name} | {row['words_per_sec']:,.0f} | {row['seconds']:.1f} | "
          f"{100 * row['analogy_total']:.2f}% | {100 * row['analogy_semantic']:.2f}% | "
          f"{100 * row['analogy_syntactic']:.2f}% | {row['heldout_nll']:.3f} "
          f"± {row['heldout_nll_se']:.3f} | {row['heldout_nll_times_noise']:.3f} |")
  report_load(env, others, busy)
  if args.out:
    write_json(args.out, {'command': command_line('benchmarks.word2vec_gensim', argv),
                          'goal': GOAL, 'corpus_words': len(train_words),
                          'vocabulary': len(vocabulary), 'epochs': base.total_epochs,
                          'analogies_answered_of': 19544, 'sides': table, 'busy': busy,
                          'environment': env}, machine)


if __name__ == '__main__':
  main()
