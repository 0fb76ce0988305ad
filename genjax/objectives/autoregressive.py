"""Exact likelihood of autoregressive image models: log p(x) = sum_i log p(x_i | x_<i).

One parallel pass gives every conditional's logits; the per-image negative log-likelihood
is in nats, and bits/dim = nll / (H * W * C * ln 2), C the colours (the usual 8-bit
convention: nats per sub-pixel over ln 2). Binary pixels use a Bernoulli head (one logit),
8-bit pixels a 256-way softmax over the integer value round(255 x), each colour of a colour
pixel its own, conditioned on the colours before it; a grid of K VQ-VAE codes a K-way
softmax over the code (bits/dim is then bits per code). The discretised logistic mixture
(`logistic_mixture`; Salimans et al., 2017) gives a whole pixel's log-probability at once.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp

from genjax.distributions import Bernoulli, Categorical
from genjax.models import pixels
from genjax.objectives import logistic_mixture


def pixel_log_probs(logits: jax.Array, x: jax.Array, likelihood: str,
                    num_codes: int = 0) -> jax.Array:
  """log p(x_i | x_<i) per pixel: outputs [..., P] and canvas [..., C] -> [...].

  P = C * L for per-token heads (colour k's L logits at [k * L, (k + 1) * L)), and a
  colour pixel's log-probability is the sum of its colours'; the mixture's P are its
  parameters. A sampler passes one sub-pixel as C = 1.
  """
  if likelihood == pixels.MIXTURE:
    return logistic_mixture.log_prob(logits, x)
  logits = logits.reshape(logits.shape[:-1] + (x.shape[-1], -1))  # [..., C, L]
  x = x[..., None]  # [..., C, 1]: each colour a one-channel canvas
  if likelihood == 'bernoulli':
    per_colour = Bernoulli(logits[..., 0], event_ndims=0).log_prob(x[..., 0])
  else:
    tokens = pixels.to_tokens(x, likelihood, num_codes)
    per_colour = Categorical(logits, event_ndims=0).log_prob(tokens)
  return per_colour.sum(-1)


def log_prob(logits: jax.Array, x: jax.Array, likelihood: str,
             num_codes: int = 0) -> jax.Array:
  """log p(x) per image [B], from outputs [B, H, W, P] and canvases [B, H, W, C]."""
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
