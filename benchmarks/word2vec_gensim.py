"""genjax vs gensim word2vec (skip-gram, negative sampling) on dict-gcide, side by side.

Command (from the repository root, with the `bench` extra; the .txt is this output):

  .venv/bin/python -m benchmarks.word2vec_gensim \
      --out results/benchmarks/word2vec_gensim.json | tee results/benchmarks/word2vec_gensim.txt

and the samplers side by side (pairs drawn on the host, and inside the step):

  .venv/bin/python -m benchmarks.word2vec_gensim --samplers host,device --workers 2 \
      --out results/benchmarks/word2vec_samplers.json | tee results/benchmarks/word2vec_samplers.txt

Every side trains from scratch on the same text with configs/word2vec.py's settings (100-d,
window 5, 5 negatives, sample 1e-4, min_count 5, 5 epochs, rate 0.025 decaying linearly),
and is scored by genjax's own evaluators:

* genjax: the loop's own program (`assemble` of the word2vec family: its initial state,
  its compiled step, and `.batches(step)` drawn inside the timed loop, as the loop does);
  every repeat trains from the config's seed; one side per batch size and sampler
  (`data.sampler`: 'host' draws the pairs in NumPy beside the step, 'device' inside it,
  where `.batches` is only the steps' positions);
* gensim's `Word2Vec` (sg=1, hs=0) with 1 and 2 worker threads, `build_vocab` before the
  clock starts; its vectors are reordered into genjax's vocabulary (the same words).

Words/s is the training text's words (before min_count and subsampling) times the epochs,
over the training wall time. Scores: analogy accuracy over the 30k most frequent words
(compute-accuracy.c's protocol), and the held-out log-likelihood of the softmax over W.C,
and of softmax(W.C + log Pn), on the same 20,000 held-out pairs. Sides run interleaved;
the table gives medians over repeats (gensim with several workers is not deterministic).
"""

from __future__ import annotations

import time

import jax
import numpy as np

from benchmarks import loop_step
from benchmarks.conv_share import conv_flop_share
from benchmarks.harness import Timer, arguments, begin, command_line, finish, interleaved_repeats
from configs import word2vec as word2vec_config
from genjax import config as config_lib
from genjax.data import corpus, text
from genjax.evals import analogy
from genjax.families import word2vec
from genjax.objectives import word2vec as objectives
from genjax.training.assemble import assemble

GOAL = 'genjax words/s >= gensim with 2 workers, analogy accuracy within 1 point or better'


def parse(argv=None):
  p = arguments(__doc__, quick='1 repeat, 1 epoch on the first 6M characters: checks the script')
  p.add_argument('--epochs', type=float, default=0, help='0: the config\'s (5)')
  p.add_argument('--max-chars', type=int, default=0, help='use only the text\'s start')
  p.add_argument('--batch-sizes', default='', help='genjax batch sizes, comma-separated '
                 '(default: the config\'s); each is a side of its own')
  p.add_argument('--workers', default='1,2', help='gensim worker counts')
  p.add_argument('--samplers', default='', help="genjax's data.sampler values, "
                 "comma-separated: host, device (default: the config's); each is a side")
  p.add_argument('--steps-per-call', type=int, default=0,
                 help="genjax steps fused per call; 0: the config's")
  return p.parse_args(argv)


def _config(args, batch_size: int = 0, sampler: str = ''):
  return loop_step.benchmark_config(word2vec_config.get_config, '',
                                    total_epochs=args.epochs or None,
                                    batch_size=batch_size or None,
                                    steps_per_call=args.steps_per_call or None,
                                    **{'data.max_chars': args.max_chars or None,
                                       'data.sampler': sampler or None})


class Genjax:
  """word2vec trained from scratch by the loop's assembled program, as the loop runs it
  (compiled ahead of time, outside the clock)."""

  def __init__(self, config):
    self.assembled = a = assemble(word2vec.FAMILY, config)
    self.total = config_lib.total_steps(config, a.data.train.num_examples)
    self.step = a.train_step.lower(a.initial_state(), a.batches(0)[0], a.frozen).compile()
    self.conv_flop_share = conv_flop_share(self.step).record()
    self.train(calls=1)  # warms up outside the clock

  def train(self, n: int = 1, calls: int | None = None) -> None:
    a = self.assembled
    k = a.config.steps_per_call
    for _ in range(n):
      state = a.initial_state()
      for s in range(0, self.total if calls is None else calls * k, k):
        state, _ = self.step(state, a.batches(s)[0], a.frozen)
      self.params = jax.block_until_ready(state.params)

  def vectors(self):
    return np.asarray(self.params['center']), np.asarray(self.params['context'])


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
  env, machine = begin(__doc__)
  base = _config(args)
  d = base.data
  train_words, held_words = corpus.split(corpus.words(corpus.read_text(d.corpus, d.max_chars)),
                                         block=d.block, held_out_every=d.held_out_every)
  samplers = [x for x in args.samplers.split(',') if x] or [base.data.sampler]
  named = lambda sampler: f'{sampler} sampler, ' if args.samplers else ''  # names kept
  genjax_sides = {
      f'genjax ({named(sampler)}batch {b})': Genjax(_config(args, b, sampler))
      for b in [int(x) for x in args.batch_sizes.split(',') if x] or [base.batch_size]
      for sampler in samplers}
  vocabulary = next(iter(genjax_sides.values())).assembled.data.info.vocabulary
  held = vocabulary.encode(held_words)
  seed = word2vec._EVAL_PAIRS_SEED  # pylint: disable=protected-access
  pairs = text.skipgram_eval_pairs(held, window=d.window, num_pairs=d.eval_pairs, seed=seed)
  questions = analogy.read_questions(analogy.gensim_questions_path())
  log_noise = np.log(text.noise_distribution(vocabulary.counts)).astype(np.float32)
  words = len(train_words) * base.total_epochs
  print(f'{d.corpus}: {len(train_words):,} training words, vocabulary {len(vocabulary):,}, '
        f'{base.total_epochs:g} epochs = {words:,.0f} words to train on', flush=True)

  sides, results = {}, {}
  for name, side in genjax_sides.items():
    timer = Timer(side.train, words, warm_up=0)

    def measure(side=side, timer=timer, name=name):
      rate = timer.rate()
      results.setdefault(name, []).append(
          {'seconds': words / rate, **scores(*side.vectors(), vocabulary, questions, pairs,
                                             log_noise)})
      return rate

    sides[name] = measure
  conv_flop_shares = {name: side.conv_flop_share for name, side in genjax_sides.items()}
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
  table = {}
  print(f'\n| side | words/s (median of {args.repeats}) | train s | analogy total | semantic '
        '| syntactic | held-out nats/pair (softmax W.C) | (W.C + log Pn) |')
  print('|---|---|---|---|---|---|---|---|')
  for name, rates in raw.items():
    med = lambda key: float(np.median([r[key] for r in results[name]]))
    row = {'words_per_sec': float(np.median(rates)), 'words_per_sec_per_repeat': rates,
           **{k: med(k) for k in results[name][0]}, 'per_repeat': results[name]}
    if name in conv_flop_shares:
      row['genjax_conv_flop_share'] = conv_flop_shares[name]
    table[name] = row
    print(f"| {name} | {row['words_per_sec']:,.0f} | {row['seconds']:.1f} | "
          f"{100 * row['analogy_total']:.2f}% | {100 * row['analogy_semantic']:.2f}% | "
          f"{100 * row['analogy_syntactic']:.2f}% | {row['heldout_nll']:.3f} "
          f"± {row['heldout_nll_se']:.3f} | {row['heldout_nll_times_noise']:.3f} |")
  finish(args.out, {'command': command_line('benchmarks.word2vec_gensim', argv),
                    'goal': GOAL, 'corpus_words': len(train_words),
                    'vocabulary': len(vocabulary), 'epochs': base.total_epochs,
                    'analogies_answered_of': 19544, 'sides': table}, machine, others, env)


if __name__ == '__main__':
  main()
