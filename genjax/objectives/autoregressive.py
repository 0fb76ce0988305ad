"""Exact likelihood of autoregressive image models: log p(x) = sum_i log p(x_i | x_<i).

One parallel pass gives every conditional's logits; the per-image negative log-likelihood
is in nats, and bits/dim = nll / (H * W * ln 2). Binary pixels use a Bernoulli head (one
logit), 8-bit pixels a 256-way softmax over the integer value round(255 x), and a grid of
K VQ-VAE codes a K-way softmax over the code (bits/dim is then bits per code).
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp

from genjax.distributions import Bernoulli, Categorical
from genjax.models import pixels


def pixel_log_probs(logits: jax.Array, x: jax.Array, likelihood: str,
                    num_codes: int = 0) -> jax.Array:
  """log p(x_i | x_<i) per position: logits [..., C] and canvas [..., 1] -> [...]."""
  if likelihood == 'bernoulli':
    return Bernoulli(logits[..., 0], event_ndims=0).log_prob(x[..., 0])
  tokens = pixels.to_tokens(x, likelihood, num_codes)
  return Categorical(logits, event_ndims=0).log_prob(tokens)


def log_prob(logits: jax.Array, x: jax.Array, likelihood: str,
             num_codes: int = 0) -> jax.Array:
  """log p(x) per image [B], from logits [B, H, W, C] and canvases [B, H, W, 1]."""
  return jnp.sum(pixel_log_probs(logits, x, likelihood, num_codes), axis=(1, 2))


def bits_per_dim(nll_nats: jax.Array, image_shape) -> jax.Array:
  return nll_nats / (math.prod(image_shape) * math.log(2.0))


def nll_terms(model, params, x: jax.Array, y: jax.Array | None) -> dict[str, jax.Array]:
  """Per-image exact NLL in nats and in bits/dim."""
  nll = -log_prob(model.apply(params, x, y), x, model.likelihood, model.num_codes)
  return {'nll': nll, 'bits_per_dim': bits_per_dim(nll, x.shape[1:])}


def nll_loss(model, conditional: bool):
  """The pure `loss_fn(params, batch, rng, context=None) -> (loss, aux)`: mean NLL in
  nats per image."""

  def loss_fn(params, batch, rng, context=None):
    del rng, context
    y = batch['label'] if conditional else None
    terms = nll_terms(model, params, batch['image'], y)
    aux = {k: jnp.mean(v) for k, v in terms.items()}
    return aux['nll'], aux

  return loss_fn
