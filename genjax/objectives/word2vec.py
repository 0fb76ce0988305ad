"""Skip-gram objectives: negative sampling and the full softmax over the vocabulary.

The model has two tables, word vectors W [V, d] (the "syn0" of word2vec.c, the embeddings
kept) and context vectors C [V, d] ("syn1neg"); a pair (w, c) scores W[w] . C[c].

- Negative sampling (Mikolov et al., 2013b, eq. 4), per pair:
  -log sigmoid(W[w].C[c]) - sum_k log sigmoid(-W[w].C[n_k]), n_k ~ U(w)^0.75. A negative
  equal to the context word is skipped, as word2vec.c skips it.
- The full softmax, -log p(c | w) = -W[w].C[c] + log sum_v exp(W[w].C[v]): a training
  objective for small vocabularies, and for every model the exact held-out
  log-likelihood of the context given the center, which negative sampling never computes
  (its W.C approximates the shifted PMI, Levy & Goldberg 2014, not these logits' scale).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp


def negative_sampling_loss(center: jax.Array, context: jax.Array, negatives: jax.Array,
                           negative_mask: jax.Array | None = None) -> jax.Array:
  """Per-pair negative-sampling loss in nats.

  Args:
    center: W rows of the centers, [B, d].
    context: C rows of the contexts, [B, d].
    negatives: C rows of the negatives, [B, K, d].
    negative_mask: [B, K], 1 for negatives that count and 0 for skipped ones (those equal
      to the context word); None counts all.

  Returns:
    [B] losses.
  """
  positive = jnp.sum(center * context, axis=-1)
  negative = jnp.einsum('bd,bkd->bk', center, negatives)
  terms = -jax.nn.log_sigmoid(-negative)
  if negative_mask is not None:
    terms = terms * negative_mask
  return -jax.nn.log_sigmoid(positive) + jnp.sum(terms, axis=-1)


def negative_sampling_row_grads(center: jax.Array, context: jax.Array,
                                negatives: jax.Array, negative_mask: jax.Array
                                ) -> tuple[jax.Array, jax.Array, jax.Array]:
  """The summed negative-sampling loss and its gradients with respect to the rows, in
  closed form: with s = W[w].C[x], d/ds is sigmoid(s) - 1 for the context and sigmoid(s)
  for a counted negative (word2vec.c's update, g = (label - sigmoid(s)) alpha, negated).
  Autodiff of `negative_sampling_loss` gives the same (tests); this is faster on CPU
  (benchmarks/step_levers.py).

  Args: as `negative_sampling_loss`, with the mask required.

  Returns:
    (sum of the per-pair losses, d/d center [B, d], d/d [context, negatives] [B, 1+K, d]).
  """
  rows = jnp.concatenate([context[:, None], negatives], axis=1)  # [B, 1+K, d]
  scores = jnp.einsum('bd,bkd->bk', center, rows)
  sign = jnp.concatenate([jnp.ones_like(scores[:, :1]), -jnp.ones_like(negative_mask)], 1)
  weight = jnp.concatenate([jnp.ones_like(scores[:, :1]), negative_mask], axis=1)
  loss = -jnp.sum(weight * jax.nn.log_sigmoid(sign * scores))
  d_scores = weight * (jax.nn.sigmoid(scores) - (sign > 0))
  return (loss, jnp.einsum('bk,bkd->bd', d_scores, rows),
          d_scores[..., None] * center[:, None, :])


def negative_mask(context_ids: jax.Array, negative_ids: jax.Array) -> jax.Array:
  """[B, K] float mask: 0 where a negative is the pair's own context word."""
  return (negative_ids != context_ids[:, None]).astype(jnp.float32)


def softmax_nll(center: jax.Array, context_table: jax.Array, context_ids: jax.Array,
                log_prior: jax.Array | None = None) -> jax.Array:
  """-log p(c | w) under the full softmax over the vocabulary, in nats, [B].

  Args:
    center: W rows of the centers, [B, d].
    context_table: every context vector, C [V, d].
    context_ids: int [B], the context words c.
    log_prior: [V] added to every row of logits (p(c | w) proportional to
      prior(c) exp(W[w].C[c])); None adds nothing.
  """
  logits = center @ context_table.T
  if log_prior is not None:
    logits = logits + log_prior
  picked = jnp.take_along_axis(logits, context_ids[:, None], axis=-1)[:, 0]
  return jax.nn.logsumexp(logits, axis=-1) - picked


def softmax_probabilities(center: jax.Array, context_table: jax.Array) -> jax.Array:
  """p(. | w) [B, V] under the full softmax; each row sums to 1."""
  return jax.nn.softmax(center @ context_table.T, axis=-1)
