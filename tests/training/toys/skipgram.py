"""A toy word2vec skip-gram with negative sampling on a tiny text stream.

The text alternates sentences about two topics, so the context of a word predicts its
topic. The eval split scores held-out pairs by the full softmax log p(context | center),
exact over the small vocabulary.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import optax

from genjax import data as data_lib
from genjax.data.family_data import Data, DataInfo
from genjax.training.family import Family, FamilyDef, Reporting, Training
from tests.training.toys import common

TOPICS = (('cat', 'dog', 'cow', 'eats', 'sleeps', 'grass'),
          ('car', 'bus', 'train', 'drives', 'stops', 'road'))


def sentences(num_words: int, seed: int) -> list[str]:
  rng = np.random.default_rng(seed)
  words = []
  while len(words) < num_words:
    words += list(rng.choice(TOPICS[rng.integers(2)], 5)) + ['.']
  return words[:num_words]


def schema():
  return common.schema(model=dict(dim=8, num_negatives=4),
                       data=dict(num_words=2000, window=2, eval_pairs=256))


def data(config, process_index, process_count) -> Data:
  d = config.data
  vocabulary = data_lib.build_vocabulary(sentences(d.num_words, 5))
  train = vocabulary.encode(sentences(d.num_words, 5))
  held_out = vocabulary.encode(sentences(d.num_words // 4, 6))
  stream = data_lib.SkipGramStream(
      train, vocab_size=len(vocabulary), counts=vocabulary.counts, window=d.window,
      num_negatives=config.model.num_negatives, global_batch_size=config.batch_size,
      seed=config.seed, process_index=process_index, process_count=process_count)
  pairs = data_lib.skipgram_eval_pairs(held_out, window=d.window, num_pairs=d.eval_pairs,
                                       seed=7)

  def test_split(global_batch_size, process_index, process_count, max_examples):
    return data_lib.padded_eval_batches(pairs, global_batch_size=global_batch_size,
                                        process_index=process_index,
                                        process_count=process_count, max_examples=max_examples)

  return Data(info=DataInfo(num_train=len(train), vocab_size=len(vocabulary), vocabulary=vocabulary),
              train=stream, splits={'test': test_split},
              description=f'{len(train)} tokens, {len(vocabulary)} words')


def build(config, info) -> Family:
  v, dim = info.vocab_size, config.model.dim

  def init_params(rng, batch):
    del batch
    return {'center': 0.1 * jax.random.normal(rng, (v, dim)), 'context': jnp.zeros((v, dim))}

  def loss_fn(params, batch, rng, context):
    del rng, context
    center = params['center'][batch['center']]
    positive = jnp.sum(center * params['context'][batch['context']], -1)
    negative = jnp.einsum('bd,bkd->bk', center, params['context'][batch['negatives']])
    loss = -jax.nn.log_sigmoid(positive) - jnp.sum(jax.nn.log_sigmoid(-negative), -1)
    return jnp.mean(loss), {}

  def eval_fn(params, batch, rng, context):
    del rng, context
    logits = params['center'][batch['center']] @ params['context'].T
    return {'context_nll': -jnp.take_along_axis(jax.nn.log_softmax(logits),
                                                batch['context'][:, None], -1)[:, 0]}

  return Family(name='toy_skipgram', signature={'model': config.model.to_dict()},
                training=Training(init_params=init_params, loss_fn=loss_fn,
                                  make_optimizer=lambda: optax.adam(0.05)),
                reporting=Reporting(eval_fn=eval_fn))


FAMILY = FamilyDef(name='toy_skipgram', schema=schema, build=build, data=data)
