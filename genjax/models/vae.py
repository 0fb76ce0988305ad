"""Variational autoencoders: MLP and convolutional encoders/decoders, optionally conditional.

Kingma & Welling (2013), "Auto-Encoding Variational Bayes"; the conditional form p(x|y)
follows Sohn et al. (2015). The model only maps inputs to distributions; the objectives
live in `genjax.objectives.vae`.
"""

from __future__ import annotations

import math
from typing import Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp

from genjax.distributions import Bernoulli, DiagGaussian
from genjax.models.conv import Conv
from genjax.models.image_bodies import ACTIVATIONS, MLP, ConvDown, ConvUp

ARCHITECTURES = ('mlp', 'conv')
LIKELIHOODS = ('bernoulli', 'gaussian')


class VAE(nn.Module):
  """q(z|x[,y]) = N(mu, sigma^2), p(z) = N(0, I), p(x|z[,y]) Bernoulli or Gaussian.

  Attributes:
    image_shape: (H, W, C) of the data.
    latent_dim: size of z.
    hidden: MLP hidden widths (encoder; the decoder mirrors them). The paper's MNIST
      setting is (500,).
    activation: a name in ACTIVATIONS; the paper uses tanh.
    architecture: 'mlp', or 'conv' (two stride-2 convolutions with `conv_channels`).
    likelihood: 'bernoulli' for binary pixels, 'gaussian' for real-valued ones.
    num_classes: 0 for p(x); > 0 for the conditional VAE p(x|y) with one-hot labels.
    dtype: activations and matmul inputs ('float32' or 'bfloat16'); the params and the
      distributions' parameters (so every log-density and the KL) are float32.
  """
  image_shape: Sequence[int] = (28, 28, 1)
  latent_dim: int = 20
  hidden: Sequence[int] = (500,)
  activation: str = 'relu'
  architecture: str = 'mlp'
  conv_channels: Sequence[int] = (32, 64)
  likelihood: str = 'bernoulli'
  num_classes: int = 0
  dtype: str = 'float32'

  def setup(self):
    if self.activation not in ACTIVATIONS:
      raise ValueError(f"activation '{self.activation}' is not one of {sorted(ACTIVATIONS)}")
    if self.architecture not in ARCHITECTURES:
      raise ValueError(f"architecture '{self.architecture}' is not one of {ARCHITECTURES}")
    if self.likelihood not in LIKELIHOODS:
      raise ValueError(f"likelihood '{self.likelihood}' is not one of {LIKELIHOODS}")
    act = ACTIVATIONS[self.activation]
    pixels = math.prod(self.image_shape)
    out_per_pixel = 2 if self.likelihood == 'gaussian' else 1
    if self.architecture == 'mlp':
      self.encoder_body = MLP(tuple(self.hidden), act, flatten_image=True, dtype=self.dtype)
      self.decoder_body = MLP(tuple(reversed(self.hidden)), act, dtype=self.dtype)
      self.decoder_out = nn.Dense(pixels * out_per_pixel, dtype=self.dtype)
    else:
      self.encoder_body = ConvDown(tuple(self.conv_channels), act)
      self.decoder_body = ConvUp(tuple(self.conv_channels), tuple(self.image_shape), act,
                                 dtype=self.dtype)
      self.decoder_out = Conv(self.image_shape[-1] * out_per_pixel, (3, 3))
    self.to_posterior = nn.Dense(2 * self.latent_dim, dtype=self.dtype)

  def _labels(self, y):
    if not self.num_classes:
      return None
    if y is None:
      raise ValueError('This VAE is conditional (num_classes > 0): pass labels y.')
    return jax.nn.one_hot(y, self.num_classes)

  def encode(self, x: jax.Array, y: jax.Array | None = None) -> DiagGaussian:
    h = self.encoder_body(x.astype(self.dtype))
    onehot = self._labels(y)
    if onehot is not None:
      h = jnp.concatenate([h, onehot.astype(h.dtype)], axis=-1)
    posterior = self.to_posterior(h).astype(jnp.float32)
    mean, log_scale = jnp.split(posterior, 2, axis=-1)
    return DiagGaussian(mean, log_scale, event_ndims=1)

  def decode(self, z: jax.Array, y: jax.Array | None = None) -> Bernoulli | DiagGaussian:
    onehot = self._labels(y)
    if onehot is not None:
      z = jnp.concatenate([z, onehot], axis=-1)
    out = self.decoder_out(self.decoder_body(z.astype(self.dtype))).astype(jnp.float32)
    out = out.reshape(z.shape[:-1] + tuple(self.image_shape[:-1]) + (-1,))
    if self.likelihood == 'bernoulli':
      return Bernoulli(out, event_ndims=3)
    mean, log_scale = jnp.split(out, 2, axis=-1)
    # Pixels live in [0, 1]; a sigmoid mean and a floor on the scale keep the density finite.
    return DiagGaussian(jax.nn.sigmoid(mean), jnp.maximum(log_scale, -5.0), event_ndims=3)

  def __call__(self, x: jax.Array, y: jax.Array | None = None):
    return self.decode(self.encode(x, y).mean, y)


def decoder_mean(p_x: Bernoulli | DiagGaussian) -> jax.Array:
  return p_x.probs if isinstance(p_x, Bernoulli) else p_x.mean


def make_model(m, image_shape, num_classes: int, dtype: str = 'float32') -> VAE:
  """The VAE that a run's model config `m` describes, computing in `dtype`; conditional on
  one of num_classes labels when m.conditional."""
  return VAE(image_shape=tuple(image_shape), latent_dim=m.latent_dim, hidden=tuple(m.hidden),
             activation=m.activation, architecture=m.architecture,
             conv_channels=tuple(m.conv_channels), likelihood=m.likelihood,
             num_classes=num_classes if m.conditional else 0, dtype=dtype)
