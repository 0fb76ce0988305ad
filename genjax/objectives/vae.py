"""VAE objectives: the ELBO with its parts, and the importance-weighted bound.

ELBO(x) = E_q[log p(x|z)] - KL(q(z|x) || p(z)), with the KL in closed form and one
reparameterised sample of z (Kingma & Welling, 2013, eq. 10).
IWAE_k(x) = E[log (1/k) sum_i p(x, z_i) / q(z_i|x)], z_i ~ q (Burda et al., 2015):
IWAE_1 is the ELBO in expectation, IWAE_k increases with k towards log p(x).
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
  """The pure `loss_fn(params, batch, rng) -> (loss, aux)` the training loop asks for."""

  def loss_fn(params, batch, rng):
    y = batch['label'] if conditional else None
    terms = elbo_terms(model, params, batch['image'], y, rng)
    aux = {k: jnp.mean(v) for k, v in terms.items()}
    return -aux['elbo'], aux

  return loss_fn
