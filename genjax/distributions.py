"""Distributions with `log_prob`, and the closed-form KL between diagonal Gaussians.

Event dimensions are summed: `log_prob` returns one number per batch element, where the
trailing `event_ndims` axes are the event. Everything is a pure function of arrays, so it
jits, vmaps and differentiates.
"""

from __future__ import annotations

import dataclasses
import math

import jax
import jax.numpy as jnp

_LOG_2PI = math.log(2 * math.pi)


def _sum_event(x: jax.Array, event_ndims: int) -> jax.Array:
  """The sum over the last event_ndims axes, as a product with a vector of ones.

  XLA:CPU hands a plain sum over an image's pixels to YNNPACK, which made the MLP VAE's
  evaluation slower than PyTorch's; as a matrix-vector product it is faster
  (benchmarks/step_levers.py; docs/results/performance.md). HIGHEST keeps it an exact
  float32 sum where the default precision would round to bfloat16 (TPU) or TF32 (GPU).
  """
  if not event_ndims:
    return x
  flat = x.reshape(x.shape[:x.ndim - event_ndims] + (-1,))
  return jnp.matmul(flat, jnp.ones(flat.shape[-1], flat.dtype),
                    precision=jax.lax.Precision.HIGHEST)


@dataclasses.dataclass(frozen=True)
class DiagGaussian:
  """N(mean, diag(exp(log_scale))^2), parameterised by log standard deviation."""
  mean: jax.Array
  log_scale: jax.Array
  event_ndims: int = 1

  @property
  def scale(self) -> jax.Array:
    return jnp.exp(self.log_scale)

  def sample(self, rng: jax.Array, num_samples: int | None = None) -> jax.Array:
    """Reparameterised: mean + scale * eps, so gradients flow to mean and scale."""
    shape = self.mean.shape if num_samples is None else (num_samples,) + self.mean.shape
    eps = jax.random.normal(rng, shape, self.mean.dtype)
    return self.mean + self.scale * eps

  def log_prob(self, x: jax.Array) -> jax.Array:
    z = (x - self.mean) * jnp.exp(-self.log_scale)
    return _sum_event(-0.5 * (z**2 + _LOG_2PI) - self.log_scale, self.event_ndims)


@dataclasses.dataclass(frozen=True)
class Bernoulli:
  """Bernoulli parameterised by logits; `log_prob` is stable for large |logits|."""
  logits: jax.Array
  event_ndims: int = 1

  @property
  def probs(self) -> jax.Array:
    return jax.nn.sigmoid(self.logits)

  def sample(self, rng: jax.Array) -> jax.Array:
    return jax.random.bernoulli(rng, self.probs).astype(self.logits.dtype)

  def log_prob(self, x: jax.Array) -> jax.Array:
    # log p = x*log(sigmoid(l)) + (1-x)*log(sigmoid(-l)) = x*l - softplus(l).
    return _sum_event(x * self.logits - jax.nn.softplus(self.logits), self.event_ndims)


@dataclasses.dataclass(frozen=True)
class Categorical:
  """Categorical over the last axis of `logits`; `event_ndims` counts the axes before it."""
  logits: jax.Array
  event_ndims: int = 0

  def sample(self, rng: jax.Array) -> jax.Array:
    return jax.random.categorical(rng, self.logits, axis=-1)

  def log_prob(self, x: jax.Array) -> jax.Array:
    logp = jax.nn.log_softmax(self.logits, axis=-1)
    picked = jnp.take_along_axis(logp, x[..., None].astype(jnp.int32), axis=-1)[..., 0]
    return _sum_event(picked, self.event_ndims)


def gaussian_kl(q: DiagGaussian, p: DiagGaussian) -> jax.Array:
  """KL(q || p) for diagonal Gaussians, in closed form, summed over the event."""
  var_ratio = jnp.exp(2 * (q.log_scale - p.log_scale))
  mean_term = ((q.mean - p.mean) * jnp.exp(-p.log_scale))**2
  kl = 0.5 * (var_ratio + mean_term - 1.0) - (q.log_scale - p.log_scale)
  return _sum_event(kl, q.event_ndims)


def standard_normal_kl(q: DiagGaussian) -> jax.Array:
  """KL(N(mu, sigma^2) || N(0, I)) = 0.5 * sum(mu^2 + sigma^2 - 1 - log sigma^2)."""
  kl = 0.5 * (q.mean**2 + jnp.exp(2 * q.log_scale) - 1.0) - q.log_scale
  return _sum_event(kl, q.event_ndims)


def standard_normal(shape: tuple[int, ...], dtype=jnp.float32, event_ndims: int = 1) -> DiagGaussian:
  return DiagGaussian(jnp.zeros(shape, dtype), jnp.zeros(shape, dtype), event_ndims)
