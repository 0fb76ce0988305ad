"""MaskGIT's training objective (Chang et al., 2022): predict masked codes from the rest.

Per example, r ~ U[0, 1) and ceil(gamma(r) N) of the N codes, chosen uniformly, are
replaced by the mask token; the loss is the cross-entropy of the true codes at the masked
positions only (the unmasked ones are given, so predicting them teaches nothing), averaged
over every masked position of the batch, optionally with label smoothing. The mask
schedule gamma falls from gamma(0) = 1 (all masked) to gamma(1) = 0: cosine,
cos(pi r / 2), Chang et al.'s choice (their Table 3 finds it best), or linear, 1 - r. For
classifier-free guidance (Ho & Salimans, 2022) labels are replaced by the null class with
probability class_dropout, so one network is both p(codes | y) and p(codes).

There is no likelihood: the loss scores codes given a random subset of the others, not
p(codes).
"""

from __future__ import annotations

from typing import Callable

import jax
import jax.numpy as jnp
import numpy as np

SCHEDULES = ('cosine', 'linear')


def mask_ratio(r, schedule: str = 'cosine'):
  """gamma(r): the fraction of codes masked at r in [0, 1]; NumPy or JAX, as r is."""
  xp = jnp if isinstance(r, jax.Array) else np
  if schedule == 'cosine':
    return xp.cos(0.5 * np.pi * r)
  if schedule == 'linear':
    return 1.0 - r
  raise ValueError(f'schedule must be one of {SCHEDULES}, got {schedule!r}.')


def random_mask(rng: jax.Array, batch_size: int, num_tokens: int,
                schedule: str = 'cosine') -> jax.Array:
  """bool [B, N]: per example r ~ U[0, 1) and ceil(gamma(r) N) positions (at least one)
  chosen uniformly without replacement."""
  ratio_rng, order_rng = jax.random.split(rng)
  r = jax.random.uniform(ratio_rng, (batch_size,))
  count = jnp.clip(jnp.ceil(mask_ratio(r, schedule) * num_tokens), 1, num_tokens)
  noise = jax.random.uniform(order_rng, (batch_size, num_tokens))
  rank = jnp.argsort(jnp.argsort(noise, axis=-1), axis=-1)  # a uniform random order
  return rank < count[:, None]


def masked_cross_entropy(logits: jax.Array, targets: jax.Array, mask: jax.Array,
                         label_smoothing: float = 0.0) -> jax.Array:
  """Cross-entropy [B, N] in nats of targets [B, N] under logits [B, N, K] at the masked
  positions, 0 elsewhere; with label smoothing e, against (1 - e) one-hot + e / K."""
  logp = jax.nn.log_softmax(logits.astype(jnp.float32), axis=-1)
  nll = -jnp.take_along_axis(logp, targets[..., None], axis=-1)[..., 0]
  smoothed = (1.0 - label_smoothing) * nll - label_smoothing * jnp.mean(logp, axis=-1)
  return jnp.where(mask, smoothed, 0.0)


def drop_labels(rng: jax.Array, labels: jax.Array, rate: float, null_class: int) -> jax.Array:
  """Labels replaced by the null class with probability `rate` each."""
  drop = jax.random.bernoulli(rng, rate, labels.shape)
  return jnp.where(drop, null_class, labels)


def maskgit_loss(logits_fn: Callable[[jax.Array, jax.Array | None], jax.Array],
                 codes: jax.Array, labels: jax.Array | None, rng: jax.Array, *,
                 mask_token: int, schedule: str = 'cosine', label_smoothing: float = 0.0,
                 class_dropout: float = 0.0, null_class: int = 0):
  """(loss, metrics) of one batch of code sequences [B, N]: the mean (smoothed)
  cross-entropy over the batch's masked positions.

  logits_fn(tokens [B, N], labels [B] or None) -> logits [B, N, K]; labels None for an
  unconditional model, else dropped to `null_class` with probability class_dropout.
  Metrics: the unsmoothed NLL and accuracy per masked code, and the fraction masked.
  """
  mask_rng, label_rng = jax.random.split(rng)
  mask = random_mask(mask_rng, codes.shape[0], codes.shape[1], schedule)
  if labels is not None and class_dropout:
    labels = drop_labels(label_rng, labels, class_dropout, null_class)
  logits = logits_fn(jnp.where(mask, mask_token, codes), labels)
  count = jnp.sum(mask)
  loss = jnp.sum(masked_cross_entropy(logits, codes, mask, label_smoothing)) / count
  nll = jnp.sum(masked_cross_entropy(logits, codes, mask)) / count
  correct = jnp.where(mask, jnp.argmax(logits, axis=-1) == codes, False)
  return loss, {'loss': loss, 'masked_nll': nll,
                'masked_accuracy': jnp.sum(correct) / count,
                'mask_fraction': jnp.mean(mask.astype(jnp.float32))}


def per_example_terms(logits: jax.Array, codes: jax.Array, mask: jax.Array) -> dict:
  """Per-example [B] NLL (nats) and accuracy of the codes at the masked positions, each
  averaged over that example's masked positions (an eval's metrics)."""
  count = jnp.maximum(jnp.sum(mask, axis=-1), 1)
  nll = jnp.sum(masked_cross_entropy(logits, codes, mask), axis=-1) / count
  correct = jnp.sum(jnp.where(mask, jnp.argmax(logits, axis=-1) == codes, False), axis=-1)
  return {'masked_nll': nll, 'masked_accuracy': correct / count}
