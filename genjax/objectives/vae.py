"""VAE objectives: the ELBO with its parts, and the importance-weighted bound.

ELBO(x) = E_q[log p(x|z)] - KL(q(z|x) || p(z)), with the KL in closed form and one
reparameterised sample of z (Kingma & Welling, 2013, eq. 10).
IWAE_k(x) = E[log (1/k) sum_i p(x, z_i) / q(z_i|x)], z_i ~ q (Burda et al., 2015):
IWAE_1 is the ELBO in expectation, IWAE_k increases with k towards log p(x).
Training on -IWAE_k (Burda et al.'s IWAE) weights each sample's gradient by its normalised
importance weight, softmax(log w)_i; the ELBO's gives every sample the same weight.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp

from genjax.distributions import standard_normal, standard_normal_kl
from genjax.models.vae import VAE


def elbo_terms(model: VAE, params, x: jax.Array, y: jax.Array | None,
               rng: jax.Array) -> dict[str, jax.Array]:
  """Per-example reconstruction log-likelihood, KL and ELBO, in nats."""
  q = model.apply(params, x, y, method=VAE.encode)
  z = q.sample(rng)
  recon = model.apply(params, z, y, method=VAE.decode).log_prob(x)
  kl = standard_normal_kl(q)
  return {'recon': recon, 'kl': kl, 'elbo': recon - kl}


def log_importance_weights(model: VAE, params, x: jax.Array, y: jax.Array | None,
                           rng: jax.Array, num_samples: int, chunk: int = 64) -> jax.Array:
  """log p(x, z_i) - log q(z_i|x) for i < num_samples, shape [num_samples, batch].

  Samples are drawn `chunk` at a time under `lax.map` so that memory stays
  O(chunk * batch * pixels) however large num_samples is.
  """
  q = model.apply(params, x, y, method=VAE.encode)
  prior = standard_normal(q.mean.shape[-1:], q.mean.dtype)
  chunk = min(chunk, num_samples)
  num_chunks = math.ceil(num_samples / chunk)

  def one_chunk(key):
    z = q.sample(key, chunk)  # [chunk, batch, latent]
    y_rep = None if y is None else jnp.broadcast_to(y, (chunk,) + y.shape)
    log_px = model.apply(params, z, y_rep, method=VAE.decode).log_prob(x)
    return log_px + prior.log_prob(z) - q.log_prob(z)

  keys = jax.random.split(rng, num_chunks)
  logw = jax.lax.map(one_chunk, keys).reshape((num_chunks * chunk,) + x.shape[:1])
  return logw[:num_samples]


def iwae_bound(model: VAE, params, x: jax.Array, y: jax.Array | None, rng: jax.Array,
               num_samples: int, chunk: int = 64) -> jax.Array:
  """Per-example importance-weighted bound log (1/k) sum_i w_i, in nats."""
  logw = log_importance_weights(model, params, x, y, rng, num_samples, chunk)
  return jax.nn.logsumexp(logw, axis=0) - math.log(num_samples)


def negative_elbo_loss(model: VAE, conditional: bool):
  """The pure `loss_fn(params, batch, rng, context=None) -> (loss, aux)` the training
  loop asks for; the VAE keeps no model state, so the context is unused."""

  def loss_fn(params, batch, rng, context=None):
    del context
    y = batch['label'] if conditional else None
    terms = elbo_terms(model, params, batch['image'], y, rng)
    aux = {k: jnp.mean(v) for k, v in terms.items()}
    return -aux['elbo'], aux

  return loss_fn


def negative_iwae_loss(model: VAE, conditional: bool, num_samples: int):
  """`loss_fn(params, batch, rng, context=None) -> (loss, aux)` of the IWAE: -IWAE_k(x)
  on the batch, with its k samples in one chunk (training k is small; evaluation's
  k = 5000 is chunked)."""

  def loss_fn(params, batch, rng, context=None):
    del context
    y = batch['label'] if conditional else None
    bound = iwae_bound(model, params, batch['image'], y, rng, num_samples, chunk=num_samples)
    aux = {f'iwae_{num_samples}': jnp.mean(bound)}
    return -aux[f'iwae_{num_samples}'], aux

  return loss_fn


def training_loss(model: VAE, conditional: bool, objective: str, num_samples: int):
  """The loss of `objective`: 'elbo' (Kingma & Welling) or 'iwae' with num_samples."""
  if objective == 'elbo':
    return negative_elbo_loss(model, conditional)
  if objective == 'iwae':
    return negative_iwae_loss(model, conditional, num_samples)
  raise ValueError(f"Unknown VAE objective {objective!r}; use 'elbo' or 'iwae'.")
