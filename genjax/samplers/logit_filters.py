"""How a sampler reshapes a model's logits before it draws: temperature, top-k, top-p.

Both are applied to the logits the token is drawn from, never to the model's own
distribution: a sampler that records log p(token | context) records it under the raw
logits (temperature 1, unfiltered), so that a sample's recorded log-probs sum to its
log-likelihood under the model. Temperature 1 and no filtering return the logits
untouched (the same array, not a copy divided by 1), so such draws are bitwise those of
a sampler without these options.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp


def filter_logits(logits: jax.Array, top_k: int = 0, top_p: float = 1.0) -> jax.Array:
  """Logits [..., K] with every token outside the top k, and outside the smallest set of
  largest probabilities reaching top_p, set to -inf (0 and 1.0: no filtering)."""
  neg = jnp.finfo(logits.dtype).min
  if top_k and top_k < logits.shape[-1]:
    kth = jax.lax.top_k(logits, top_k)[0][..., -1:]
    logits = jnp.where(logits < kth, neg, logits)
  if top_p < 1.0:
    ordered = jnp.sort(logits, axis=-1)[..., ::-1]
    probs = jax.nn.softmax(ordered, axis=-1)
    before = jnp.cumsum(probs, axis=-1) - probs  # mass of the tokens ranked above
    kept = jnp.where(before < top_p, ordered, jnp.inf)  # the top token is always kept
    threshold = jnp.min(kept, axis=-1, keepdims=True)
    logits = jnp.where(logits < threshold, neg, logits)
  return logits


def sampling_logits(logits: jax.Array, temperature: float = 1.0, top_k: int = 0,
                    top_p: float = 1.0) -> jax.Array:
  """The logits to draw from: divided by `temperature` (Python float > 0; below 1
  sharpens), then filtered by `filter_logits`. Ties at the k-th largest logit are all
  kept, as in `filter_logits`."""
  if temperature <= 0:
    raise ValueError(f'temperature={temperature} must be positive; use a small value such '
                     'as 0.1 for nearly greedy draws.')
  if temperature != 1.0:
    logits = logits / temperature
  return filter_logits(logits, top_k, top_p)
