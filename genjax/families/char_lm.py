"""A character-level language model: the chain rule on text, by the causal Transformer.

log p(x_1..x_T) = sum_t log p(x_t | x_<t) over a window of T characters, modelled by the
same `PixelTransformer` that models pixels and VQ-VAE codes: a window is a 1 x T grid of
K-way tokens (likelihood 'codes', K = the character vocabulary), held in the float canvas
of `pixels.canvas_from_codes` exactly as the code prior holds its codes. Nothing of the
model is copied; `genjax.models.autoregressive.make_model` builds it.

The first character of a window is predicted from the Transformer's learned start token
alone, so every window's log-likelihood is exact (nanoGPT instead predicts only x_2..x_T+1
from x_1..x_T, every target with at least one character of context). Bits per character
are per window, averaged over fixed non-overlapping held-out windows, with the standard
error over windows. Samples continue prompts with the KV-cached sampler (or the naive one,
eval.sampler) at each of eval.temperatures, with top-k filtering when eval.top_k > 0; their
recorded log-probs are the model's own (temperature 1, unfiltered). A trained model
(`genjax.load`) draws windows and completes prompts with the same sampler (options
temperature and top_k), and scores held-out windows exactly, in bits per character; its
vocabulary is the one the run saved (`genjax.data.info_file`). Training computes in
config.compute_dtype (the Transformer's; logits and the loss float32) with its blocks
recomputed as model.remat asks; evaluation and sampling in float32.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np

from genjax import config as config_lib
from genjax.data import corpus
from genjax.data.arrays import padded_eval_batches
from genjax.data.char_text import (CharVocabulary, CharWindowStream, HeldOut,
                                   build_char_vocabulary, eval_windows)
from genjax.figures import char_lm as figures
from genjax.metrics.standard_error import standard_error
from genjax.models import pixels
from genjax.models.autoregressive import make_model
from genjax.models.remat import REMAT
from genjax.objectives.autoregressive import pixel_log_probs
from genjax.samplers import autoregressive as samplers
from genjax.data.family_data import Data, DataInfo
from genjax.errors import UserError
from genjax.training.family import (Family, FamilyDef, Inference, Likelihood, Reporting,
                                    Training)


def schema() -> ml_collections.ConfigDict:
  return config_lib.with_family_schema(
      model=dict(architecture='transformer', likelihood='codes', dim=128, num_heads=4,
                 num_layers=4, mlp_ratio=4, positions='learned',
                 remat='none'),  # blocks recomputed in the backward pass: REMAT
      data=dict(
          corpus='gcide',  # 'gcide' (Debian's dict-gcide) or the path of a UTF-8 text
          max_chars=0,  # > 0: only the text's first max_chars characters
          context=256,  # T, characters per window
          block=10000,  # the held-out text is every held_out_every-th block of characters
          held_out_every=20,
          min_count=100),  # rarer characters share the unknown symbol
      eval_=dict(
          test_examples=0,  # held-out windows evaluated; 0: all of them
          prompts=('Language \\Lan"guage\\, n.\n   ', 'Dream \\Dream\\, v. i.\n   ',
                   'The '),
          temperatures=(0.5, 0.8, 1.0),
          top_k=0,  # > 0: draw from the k most probable characters only
          sampler='fast'))  # 'fast' (KV cache) | 'naive' (full network per character)


def char_lm_data(config: ml_collections.ConfigDict, process_index: int = 0,
                 process_count: int = 1) -> Data:
  """Random train windows and the held-out windows of config.data.corpus; the vocabulary
  is built from the training characters only."""
  d = config.data
  text = corpus.read_text(d.corpus, d.max_chars)
  points = np.frombuffer(text.encode('utf-32-le'), np.uint32)
  train_points, held_points = corpus.split(points, block=d.block,
                                           held_out_every=d.held_out_every)
  as_text = lambda p: p.tobytes().decode('utf-32-le')
  vocab = build_char_vocabulary(as_text(train_points), min_count=d.min_count)
  train_ids, held_ids = vocab.encode(as_text(train_points)), vocab.encode(as_text(held_points))
  windows = eval_windows(held_ids, d.context)
  train = CharWindowStream(train_ids, context=d.context, global_batch_size=config.batch_size,
                           seed=config.seed, process_index=process_index,
                           process_count=process_count)

  def split(global_batch_size, process_index, process_count, max_examples):
    return padded_eval_batches({'tokens': windows}, global_batch_size=global_batch_size,
                               process_index=process_index, process_count=process_count,
                               max_examples=max_examples)

  info = DataInfo(num_train=train.num_examples, example_shape=(1, d.context),
                  held_out=HeldOut(vocab, windows), vocab_size=len(vocab))
  return Data(info=info, train=train, splits={'test': split},
              description=f'{corpus.corpus_path(d.corpus)}: {len(train_ids):,} training and '
                          f'{len(held_ids):,} held-out characters ({len(windows):,} windows '
                          f'of {d.context}), {len(vocab)} symbols')


def char_log_probs(model, params, tokens: jax.Array) -> jax.Array:
  """log p(x_t | x_<t) [B, T] of windows of ids [B, T], from one teacher-forced pass."""
  x = pixels.canvas_from_codes(tokens[:, None, :], model.num_codes)
  return pixel_log_probs(model.apply(params, x), x, 'codes', model.num_codes)[:, 0]


def bits_summary(means: dict, num_windows: int) -> dict[str, float]:
  """Split means of per-window bits/char and their squares -> bits/char, its standard
  error over the windows, and nats/char (nanoGPT's unit)."""
  mean, square = float(means['bits_per_char']), float(means['bits_per_char_squared'])
  return {'bits_per_char': mean, 'bits_per_char_se': standard_error(mean, square, num_windows),
          'nats_per_char': mean * math.log(2.0), 'windows': float(num_windows)}


def prompt_canvas(vocab: CharVocabulary, prompts, context: int):
  """(canvas [P, 1, T, 1] with each prompt's ids at its start, lengths int32 [P, 1])."""
  codes = np.zeros((len(prompts), 1, context), np.int32)
  for i, prompt in enumerate(prompts):
    codes[i, 0, :len(prompt)] = vocab.encode(prompt)
  lengths = np.asarray([[len(p)] for p in prompts], np.int32)
  return pixels.canvas_from_codes(jnp.asarray(codes), len(vocab)), jnp.asarray(lengths)


def check_config(config: ml_collections.ConfigDict) -> None:
  longest = max((len(p) for p in config.eval.prompts), default=0)
  if not config.eval.prompts or longest >= config.data.context:
    raise config_lib.ConfigError(
        f'eval.prompts needs at least one prompt, each shorter than data.context='
        f'{config.data.context} (the longest has {longest} characters); shorten them with '
        "--config.eval.prompts='(\"The \",)'.")


def build(config: ml_collections.ConfigDict, info: DataInfo) -> Family:
  m, e = config.model, config.eval
  check_config(config)
  vocab, windows = info.held_out.vocabulary, info.held_out.windows
  window = config.data.context  # T; `context` is the step functions' StepContext
  shape = (1, window, 1)
  model = make_model(m, shape, 0, num_codes=len(vocab))
  # Runs saved before remat existed lack it (genjax.load builds from their config).
  train_model = make_model(m, shape, 0, num_codes=len(vocab), dtype=config.compute_dtype,
                           remat=m.get('remat', 'none'))
  naive = e.sampler == 'naive'
  num_windows = min(e.test_examples, len(windows)) if e.test_examples else len(windows)

  def init_params(rng, batch):
    tokens = jnp.asarray(batch['tokens'][:1])
    return model.init(rng, pixels.canvas_from_codes(tokens[:, None, :], len(vocab)))

  def loss_fn(params, batch, rng, context):
    del rng, context
    nats = -jnp.mean(char_log_probs(train_model, params, batch['tokens']))
    return nats, {'nats_per_char': nats, 'bits_per_char': nats / math.log(2.0)}

  def eval_fn(params, batch, rng, context):
    del rng, context
    bits = -jnp.mean(char_log_probs(model, params, batch['tokens']), axis=1) / math.log(2.0)
    return {'bits_per_char': bits, 'bits_per_char_squared': jnp.square(bits)}

  def nll(params, batch, rng, context):
    """-log p(window) [B] in nats, exactly: the eval's bits/char times T ln 2."""
    del rng, context
    return -jnp.sum(char_log_probs(model, params, batch['tokens']), axis=1)

  def continue_prompts(params, rng, prompts, temperature, top_k):
    """Windows [P, T] of ids, each prompt continued to the window, and their log-probs."""
    given, lengths = prompt_canvas(vocab, prompts, window)
    canvas, logp = samplers.sample(model, params, rng, shape, len(prompts), None, given,
                                   lengths, naive, temperature=float(temperature),
                                   top_k=int(top_k))
    return np.asarray(pixels.codes_from_canvas(canvas, len(vocab)))[:, 0], np.asarray(logp)

  def sample(params, rng, num_samples, context, temperature=1.0, top_k=0):
    """Whole windows of text drawn from scratch, as strings; the logits divided by
    `temperature`, and with `top_k` > 0 only the k most probable characters drawn."""
    del context
    canvas, _ = samplers.sample(model, params, rng, shape, num_samples, naive=naive,
                                temperature=float(temperature), top_k=int(top_k))
    tokens = np.asarray(pixels.codes_from_canvas(canvas, len(vocab)))[:, 0]
    return np.asarray([vocab.decode(row) for row in tokens])

  def complete(params, rng, prompts, context, temperature=1.0, top_k=0):
    """Each prompt continued to the window's T characters, as strings (the prompt as
    given, then the drawn characters); characters outside the vocabulary are read as its
    unknown symbol."""
    del context
    prompts = list(prompts)
    longest = max((len(p) for p in prompts), default=0)
    if longest >= window:
      raise UserError(f'A prompt of {longest} characters leaves nothing to complete in '
                      f'this model\'s window of {window}; give prompts shorter than {window}.')
    if not prompts:
      return []
    tokens, _ = continue_prompts(params, rng, prompts, temperature, top_k)
    return [p + vocab.decode(row[len(p):]) for p, row in zip(prompts, tokens)]

  inference = Inference(
      sample=sample, sample_options={'temperature': 1.0, 'top_k': 0},
      likelihood=Likelihood(nll=nll, exact=True, dims=window, unit='char',
                            description=f'exact -log p of a window of {window} characters, '
                            'the first predicted from the start token alone'),
      complete=complete, complete_options={'temperature': 1.0, 'top_k': 0})

  def artifacts_fn(params, rng, context):
    del context
    texts, logps = [], []
    for i, t in enumerate(e.temperatures):
      tokens, logp = continue_prompts(params, jax.random.fold_in(rng, i), e.prompts, t,
                                      e.top_k)
      texts.append([vocab.decode(row) for row in tokens])
      logps.append(logp)
    logps = np.stack(logps)  # [temperatures, prompts, T]
    lengths = np.asarray([[len(p)] for p in e.prompts])
    drawn = np.arange(window) >= lengths  # [prompts, T]: positions sampled
    return {'temperatures': np.asarray(e.temperatures, np.float64),
            'top_k': np.full(len(e.temperatures), e.top_k, np.int64),
            'prompts': np.asarray(e.prompts),
            'sample_text': np.asarray(texts),  # whole windows, prompt included
            'sample_log_probs': logps,
            'sample_bits_per_char': -(logps * drawn).sum(-1) / drawn.sum(-1) / math.log(2.0)}

  return Family(
      name='char_lm',
      # Without remat, which computes the same function: a run may resume under another.
      signature={'model': {f: v for f, v in m.to_dict().items() if f != 'remat'},
                 'context': window, 'vocabulary': vocab.chars},
      training=Training(init_params=init_params, loss_fn=loss_fn),
      reporting=Reporting(eval_fn=eval_fn,
                          eval_summary=lambda means: bits_summary(means, num_windows),
                          artifacts_fn=artifacts_fn, render_figures=figures.render_run,
                          eval_examples=e.test_examples),
      inference=inference,
  )


RANGES = {
    'model.architecture': ('transformer',),
    'model.likelihood': ('codes',),
    'model.dim': 'positive',
    'model.num_heads': 'positive',
    'model.num_layers': 'positive',
    'model.mlp_ratio': 'positive',
    'model.positions': ('learned', 'sinusoidal'),
    'model.remat': REMAT,
    'data.max_chars': 'non_negative',
    'data.context': 'positive',
    'data.block': 'positive',
    'data.held_out_every': 'positive',
    'data.min_count': 'positive',
    'eval.temperatures': 'positive_each',
    'eval.top_k': 'non_negative',
    'eval.sampler': ('fast', 'naive'),
}

FAMILY = FamilyDef(name='char_lm', schema=schema, build=build, data=char_lm_data,
                   ranges=RANGES, compute_dtypes=config_lib.COMPUTE_DTYPES)
