"""word2vec's skip-gram (Mikolov et al., 2013a, b), handed to the one training loop.

A model of the context given a word: p(c | w) = softmax_c(W[w] . C[c]). Trained as
word2vec.c trains it: negative sampling with K negatives from counts^0.75 (or, for small
vocabularies, the full softmax), subsampling of frequent words, a window of random size
up to `window`, and plain SGD whose rate decays linearly to 1e-4 of its start. The pairs
of every step are drawn as a pure function of (seed, step), on the host
(`genjax.data.text`) or, with `data.sampler='device'`, inside the compiled step from the
text held on the device (`genjax.data.skipgram_device`), from the same distribution; one
step updates only the rows its pairs touch (`genjax.training.sparse_sgd`), from the summed
per-pair gradients; `batch_size` pairs share a step where word2vec.c takes one at a time.

Evaluation: the exact held-out log-likelihood log p(c | w) under the full softmax, on
fixed pairs of the held-out text, with its standard error (for every objective: negative
sampling is scored by the softmax of its own W and C). Artifacts: analogy accuracy by
3CosAdd over the 30k most frequent words (`genjax.evals.analogy`), nearest neighbours of
a few words, and the 2-D PCA of country-capital and tense pairs.

A trained model offers nothing through `genjax.load` (an empty `Inference`): it models
p(context | word) for pairs, no distribution over text to draw from or score, and its
vectors are its params. `build` reads only the vocabulary (which a run saves) and no
file: the analogy questions are read when the artifacts are made, and checked by `data`
so that a missing file still stops a training run before its first step.
"""

from __future__ import annotations

import functools
import logging

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np

from genjax import config as config_lib
from genjax.data import corpus, skipgram_device, text
from genjax.data.arrays import padded_eval_batches
from genjax.data.sources import DataError
from genjax.evals import analogy
from genjax.figures import word2vec as figures
from genjax.metrics.standard_error import standard_error
from genjax.objectives import word2vec as objectives
from genjax.training import mesh as mesh_lib
from genjax.training import sparse_sgd
from genjax.data.family_data import Data, DataInfo
from genjax.training.family import Family, FamilyDef, Inference, Reporting, Training

logger = logging.getLogger(__name__)

OBJECTIVES = ('negative_sampling', 'softmax')
_EVAL_PAIRS_SEED = 20130116  # every run scores the same held-out pairs


def schema() -> ml_collections.ConfigDict:
  return config_lib.with_family_schema(
      model=dict(dim=100),
      objective=dict(
          name='negative_sampling',  # or 'softmax' (exact; small vocabularies)
          num_negatives=5,
          final_lr_fraction=1e-4),  # the rate decays linearly to this fraction of its start
      data=dict(
          corpus='gcide',  # Debian's dict-gcide, or the path of a text file
          max_chars=0,  # > 0: read only the first max_chars characters
          min_count=5,
          max_vocab=0,  # > 0: keep only the most frequent words
          window=5,
          subsample=1e-3,  # t; 0 keeps every word
          subsample_formula='c',  # 'c' (word2vec.c, gensim) | 'paper'
          sampler='host',  # where pairs are drawn: 'host' (NumPy) | 'device' (in the step)
          block=1000,  # the held-out slice: every held_out_every-th block of words
          held_out_every=100,
          eval_pairs=20000),
      eval_=dict(
          analogies='',  # '' : gensim's questions-words.txt, when gensim is installed
          analogy_vocab=30000,  # compute-accuracy.c's restriction; 0: every word
          neighbour_words=('king', 'water', 'red', 'france', 'run', 'three', 'good'),
          num_neighbours=8,
          figure_pairs=10))  # pairs per panel of the PCA figure


def data(config: ml_collections.ConfigDict, process_index: int, process_count: int) -> Data:
  d = config.data
  _questions(config.eval.analogies)  # a missing question file stops the run here
  train_words, held_out_words = corpus.split(corpus.words(corpus.read_text(d.corpus,
                                                                         d.max_chars)),
                                             block=d.block, held_out_every=d.held_out_every)
  vocabulary = text.build_vocabulary(train_words, min_count=d.min_count,
                                     max_size=d.max_vocab)
  if len(vocabulary) < 2:
    raise DataError(f'Only {len(vocabulary)} words of {d.corpus} occur at least '
                    f'min_count={d.min_count} times in its {len(train_words)} training words; '
                    'lower --config.data.min_count or use more text.')
  train = vocabulary.encode(train_words)
  held_out = vocabulary.encode(held_out_words)
  keep = (text.keep_probability(vocabulary.counts, d.subsample, d.subsample_formula)
          if d.subsample else None)
  stream = _stream(config, train, vocabulary.counts,
                   epoch_pairs=text.pairs_per_epoch(vocabulary.counts, d.window, keep),
                   process_index=process_index, process_count=process_count)
  pairs = text.skipgram_eval_pairs(held_out, window=d.window, num_pairs=d.eval_pairs,
                                   seed=_EVAL_PAIRS_SEED)

  def test_split(global_batch_size, process_index, process_count, max_examples):
    return padded_eval_batches(pairs, global_batch_size=global_batch_size,
                               process_index=process_index, process_count=process_count,
                               max_examples=max_examples)

  return Data(
      info=DataInfo(num_train=stream.num_examples, vocab_size=len(vocabulary),
                    vocabulary=vocabulary,
                    tokens=train if d.sampler == 'device' else None),
      train=stream, splits={'test': test_split},
      description=(f'{d.corpus}: {len(train):,} training words ({len(train_words):,} before '
                   f'min_count={d.min_count}), {len(held_out):,} held out, vocabulary '
                   f'{len(vocabulary):,}; {stream.num_examples:,} pairs an epoch'))


def _stream(config, tokens, counts, **kwargs) -> text.SkipGramStream:
  """The pairs of training: drawn on the host, or (`data.sampler='device'`) only their
  positions, the step drawing the pairs from the same distribution."""
  d = config.data
  make = (skipgram_device.DeviceSkipGramStream if d.sampler == 'device'
          else text.SkipGramStream)
  return make(tokens, vocab_size=len(counts), counts=counts, window=d.window,
              num_negatives=config.objective.num_negatives,
              global_batch_size=config.batch_size, seed=config.seed,
              subsample=d.subsample, subsample_formula=d.subsample_formula, **kwargs)


def held_out_summary(means: dict, num_pairs: int) -> dict[str, float]:
  """Split means of nll and nll^2 -> the held-out nats per pair with its standard error."""
  out = {k: float(v) for k, v in means.items() if k != 'context_nll_squared'}
  mean, square = float(means['context_nll']), float(means['context_nll_squared'])
  out['context_nll_se'] = standard_error(mean, square, num_pairs)
  return out


def build(config: ml_collections.ConfigDict, info: DataInfo) -> Family:
  m, o, e = config.model, config.objective, config.eval
  v, dim = info.vocab_size, m.dim
  vocabulary = info.vocabulary
  total = config_lib.total_steps(config, info.num_train)
  start_lr = config.optimizer.learning_rate
  # Read when the artifacts are made, not here: a model built by genjax.load, on a
  # machine without the file (or from another directory), never reads it.
  questions = functools.cache(lambda: _questions(e.analogies, warn=False))

  def init_params(rng, batch):
    del batch  # word2vec.c: syn0 uniform in +-0.5/d, syn1neg zero
    return {'center': jax.random.uniform(rng, (v, dim), minval=-0.5 / dim, maxval=0.5 / dim),
            'context': jnp.zeros((v, dim))}

  def softmax(rows, batch):
    return jnp.sum(objectives.softmax_nll(rows['center'], rows['context'],
                                          batch['context'])), {}

  # With the device sampler the text and the sampling tables are the step's `frozen`
  # argument (replicated, never folded into the program); a model built without the
  # text (genjax.load) trains nothing and needs neither.
  device = (_stream(config, info.tokens, vocabulary.counts, epoch_pairs=info.num_train)
            if config.data.sampler == 'device' and info.tokens is not None else None)

  def update_fn(state, batch, rng, frozen):
    del rng
    # Every device updates the replicated tables from the whole batch: bitwise the same
    # vectors on any number of devices (a sharded scatter-add sums in another order), and
    # no all-reduce of table-sized deltas; the batch is a few kB of ids.
    batch = mesh_lib.replicate_in_step(batch)
    valid = True
    if device is not None:  # every device draws the whole batch, keyed by its position
      batch = mesh_lib.replicate_in_step(
          device.draw(frozen, batch['position'][0], batch['epoch'][0]))
      valid = batch['valid']
    lr = sparse_sgd.linear_decay(state.step, total, start_lr, o.final_lr_fraction)
    if o.name == 'negative_sampling':
      ids = {'center': batch['center'],
             'context': jnp.concatenate([batch['context'][:, None], batch['negatives']], 1)}
      rows = sparse_sgd.gather_rows(state.params, ids)
      loss, d_center, d_context = objectives.negative_sampling_row_grads(
          rows['center'], rows['context'][:, 0], rows['context'][:, 1:],
          objectives.negative_mask(batch['context'], batch['negatives']))
      params = sparse_sgd.apply_row_grads(state.params, ids,
                                          {'center': d_center, 'context': d_context}, lr)
    else:
      ids = {'center': batch['center'], 'context': None}
      params, loss, _ = sparse_sgd.sparse_sgd_step(
          state.params, ids, lambda rows: softmax(rows, batch), lr)
    pairs = batch['center'].shape[0]
    loss = jnp.where(valid, loss / pairs, jnp.nan)  # a batch not drawn stops the run
    return state.replace(params=params), {'loss': loss, 'learning_rate': lr}

  log_noise = jnp.log(jnp.asarray(text.noise_distribution(vocabulary.counts), jnp.float32))
  log_unigram = jnp.log(jnp.asarray(vocabulary.counts / vocabulary.counts.sum(), jnp.float32))

  def eval_fn(params, batch, rng, context):
    del rng, context
    center = params['center'][batch['center']]
    nll = objectives.softmax_nll(center, params['context'], batch['context'])
    # Negative sampling drives W.C towards log p(c|w) - log(k Pn(c)) (Levy & Goldberg),
    # so softmax(W.C + log Pn) is its own estimate of p(c | w); the unigram is the floor.
    with_noise = objectives.softmax_nll(center, params['context'], batch['context'],
                                        log_prior=log_noise)
    return {'context_nll': nll, 'context_nll_squared': jnp.square(nll),
            'context_nll_times_noise': with_noise,
            'unigram_nll': -log_unigram[batch['context']]}

  def artifacts_fn(params, rng, context):
    del rng, context
    return word_artifacts(np.asarray(params['center']), vocabulary.words, questions(), e)

  num_pairs = config.data.eval_pairs
  return Family(
      name='word2vec',
      signature={'model': m.to_dict(), 'objective': o.to_dict(), 'vocab_size': v},
      training=Training(init_params=init_params, update_fn=update_fn,
                        make_optimizer=lambda: None,
                        frozen=None if device is None else device.tables),
      reporting=Reporting(eval_fn=eval_fn,
                          eval_summary=lambda means: held_out_summary(means, num_pairs),
                          artifacts_fn=artifacts_fn, render_figures=figures.render_run),
      inference=Inference(),  # p(context | word): no text to sample or score
  )


def _questions(path: str, warn: bool = True) -> list[analogy.Section] | None:
  path = path or analogy.gensim_questions_path()
  if not path:
    if warn:
      logger.warning('No analogy questions: gensim is not installed and eval.analogies is '
                     'empty, so analogy accuracy is not measured.')
    return None
  return analogy.read_questions(path)


def word_artifacts(vectors: np.ndarray, words, questions, e) -> dict[str, np.ndarray]:
  """Analogy accuracy, neighbours and the PCA figure's points, from the word vectors."""
  out: dict[str, np.ndarray] = {}
  index = {w: i for i, w in enumerate(words)}
  if questions:
    acc = analogy.accuracy(vectors, words, questions, restrict=e.analogy_vocab)
    for group in ('total', 'semantic', 'syntactic'):
      out[f'analogy_{group}'] = np.float64(acc[group])
      out[f'analogy_{group}_answered'] = np.int64(acc[f'{group}_answered'])
      out[f'analogy_{group}_skipped'] = np.int64(acc[f'{group}_skipped'])
    out['section_names'] = np.asarray([s[0] for s in acc['sections']])
    out['section_correct_answered_skipped'] = np.asarray([s[1:] for s in acc['sections']])
    for panel, section in (('capital', 'capital-common-countries'),
                           ('tense', 'gram7-past-tense')):
      pairs = _pairs(questions, section, index, e.figure_pairs)
      if pairs:
        ids = np.asarray(pairs)
        out[f'pca_{panel}_words'] = np.asarray([[words[i] for i in p] for p in pairs])
        out[f'pca_{panel}_points'] = _pca2(vectors[ids.reshape(-1)]).reshape(len(pairs), 2, 2)
  shown = [w for w in e.neighbour_words if w in index]
  if shown:
    near = analogy.nearest(vectors, np.asarray([index[w] for w in shown]), e.num_neighbours)
    out['neighbour_words'] = np.asarray(shown)
    out['neighbours'] = np.asarray([[words[i] for i in row] for row in near])
  return out


def _pairs(questions, section: str, index: dict, limit: int) -> list[tuple[int, int]]:
  """Distinct (a, b) word pairs of a section, both in the vocabulary, in file order."""
  seen: list[tuple[int, int]] = []
  for s in questions:
    if s.name != section:
      continue
    for a, b, c, d in s.questions:
      for pair in ((a, b), (c, d)):
        if all(w in index for w in pair):
          ids = (index[pair[0]], index[pair[1]])
          if ids not in seen:
            seen.append(ids)
  return seen[:limit]


def _pca2(x: np.ndarray) -> np.ndarray:
  """Rows of x projected on their top two principal axes."""
  centred = x - x.mean(axis=0)
  _, _, vt = np.linalg.svd(centred, full_matrices=False)
  return centred @ vt[:2].T


RANGES = {
    'model.dim': 'positive',
    'objective.name': OBJECTIVES,
    'objective.num_negatives': 'positive',
    'objective.final_lr_fraction': 'unit_interval',
    'data.max_chars': 'non_negative',
    'data.min_count': 'positive',
    'data.max_vocab': 'non_negative',
    'data.window': 'positive',
    'data.subsample': 'non_negative',
    'data.subsample_formula': text.SUBSAMPLE_FORMULAS,
    'data.sampler': skipgram_device.SAMPLERS,
    'data.block': 'positive',
    'data.eval_pairs': 'positive',
    'eval.analogy_vocab': 'non_negative',
    'eval.num_neighbours': 'positive',
    'eval.figure_pairs': 'positive',
}

FAMILY = FamilyDef(name='word2vec', schema=schema, build=build, data=data, ranges=RANGES)
