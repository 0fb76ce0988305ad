"""DCGAN's generator and discriminator (Radford et al., 2015), sized for 28x28 images.

Generator: z -> a dense layer to (H/4)x(W/4)x2c (PyTorch's dcgan writes it as a transposed
convolution from 1x1, the same map) -> 4x4 stride-2 transposed convolutions to H/2 and to
H -> tanh, BatchNorm and ReLU after every hidden layer, no biases before BatchNorm.
Discriminator: 4x4 stride-2 convolutions (H -> H/2 -> H/4) with LeakyReLU(0.2), BatchNorm
after the second (not the first, as DCGAN), no pooling and no dense hidden layer: one
linear map of the last feature map to a logit (a convolution as large as the map). With
`spectral_norm` every layer of D is spectrally normalised and D drops its BatchNorm (Miyato
et al., 2018). Weights start from N(0, 0.02), BatchNorm scales from N(1, 0.02), as the
paper and pytorch/examples' `dcgan` do.

Class-conditional p(x|y): G reads a learned class embedding concatenated to z; D adds the
projection term <embed(y), h> to its logit (Miyato & Koyama, 2018).

BatchNorm's statistics are the `batch_stats` collection: the train state's model state.
Sampling uses running statistics (train=False), so a sample does not depend on the other
samples of its batch; `calibrate` recomputes them for weights whose statistics were never
tracked (the generator's EMA).
"""

from __future__ import annotations

import flax.linen as nn
import jax
import jax.numpy as jnp
import ml_collections

from genjax.config import ConfigError
from genjax.models.conv import Conv
from genjax.models.conv_transpose import ConvTranspose4x4Stride2

INIT = nn.initializers.normal(0.02)


def _bn_scale_init(key, shape, dtype=jnp.float32):
  return 1.0 + 0.02 * jax.random.normal(key, shape, dtype)


def _batch_norm(train: bool, momentum: float) -> nn.BatchNorm:
  # PyTorch's momentum 0.1 is flax's 0.9: running = 0.9 running + 0.1 batch.
  return nn.BatchNorm(use_running_average=not train, momentum=momentum, epsilon=1e-5,
                      scale_init=_bn_scale_init)


class Generator(nn.Module):
  """z [B, latent_dim] (and labels [B]) -> images [B, H, W, C] in [-1, 1]."""
  image_shape: tuple[int, int, int]
  channels: int = 64  # at H/2; 2x at H/4
  num_classes: int = 0
  bn_momentum: float = 0.9

  @nn.compact
  def __call__(self, z: jax.Array, y: jax.Array | None = None, train: bool = True):
    h, w, c_out = self.image_shape
    if self.num_classes:
      z = jnp.concatenate([z, nn.Embed(self.num_classes, z.shape[-1], embedding_init=INIT,
                                       name='class_embed')(y)], axis=-1)
    x = nn.Dense((h // 4) * (w // 4) * 2 * self.channels, use_bias=False, kernel_init=INIT)(z)
    x = x.reshape(z.shape[0], h // 4, w // 4, 2 * self.channels)
    x = nn.relu(_batch_norm(train, self.bn_momentum)(x))
    x = ConvTranspose4x4Stride2(self.channels, use_bias=False, kernel_init=INIT)(x)
    x = nn.relu(_batch_norm(train, self.bn_momentum)(x))
    return jnp.tanh(ConvTranspose4x4Stride2(c_out, kernel_init=INIT)(x))


class Discriminator(nn.Module):
  """images [B, H, W, C] in [-1, 1] (and labels [B]) -> logits [B]."""
  channels: int = 64
  num_classes: int = 0
  spectral_norm: bool = False
  bn_momentum: float = 0.9

  @nn.compact
  def __call__(self, x: jax.Array, y: jax.Array | None = None, train: bool = True):
    def layer(module, inputs):
      if self.spectral_norm:
        return nn.SpectralNorm(module)(inputs, update_stats=train)
      return module(inputs)

    def conv(features, inputs, use_bias):
      return layer(Conv(features, (4, 4), strides=(2, 2), padding=((1, 1), (1, 1)),
                        use_bias=use_bias, kernel_init=INIT), inputs)

    h = nn.leaky_relu(conv(self.channels, x, use_bias=True), 0.2)
    h = conv(2 * self.channels, h, use_bias=self.spectral_norm)
    if not self.spectral_norm:
      h = _batch_norm(train, self.bn_momentum)(h)
    h = nn.leaky_relu(h, 0.2).reshape(x.shape[0], -1)
    logit = layer(nn.Dense(1, kernel_init=INIT), h)[:, 0]
    if self.num_classes:
      embed = nn.Embed(self.num_classes, h.shape[-1], embedding_init=INIT,
                       name='class_embed')(y)
      logit = logit + jnp.sum(embed * h, axis=-1)
    return logit


def calibrate(generator: Generator, params, z: jax.Array, y: jax.Array | None = None):
  """BatchNorm statistics of `params` measured on one batch of latents: the batch's own
  means and variances (momentum 0), for weights that never had running statistics."""
  shapes = jax.eval_shape(lambda: generator.init(
      jax.random.PRNGKey(0), z[:1], None if y is None else y[:1], train=False))
  unused = jax.tree.map(lambda s: jnp.zeros(s.shape, s.dtype), shapes['batch_stats'])
  _, updated = generator.clone(bn_momentum=0.0).apply(
      {'params': params, 'batch_stats': unused}, z, y, train=True, mutable=['batch_stats'])
  return updated['batch_stats']


class DCGANNetworks:
  """The generator and discriminator a GAN run's model config sizes, and the latent and
  class counts a sampler needs: what the GAN family's trainer and a reader of its runs
  share."""

  def __init__(self, m, image_shape, num_classes: int):
    h, w, _ = image_shape
    if h % 4 or w % 4:
      raise ConfigError(
          f'The DCGAN halves {h}x{w} images twice; it needs sides divisible by 4 '
          '(28x28, or 8x8 digits).')
    self.num_classes = num_classes if m.conditional else 0
    self.latent_dim = m.latent_dim
    self.generator = Generator(tuple(image_shape), m.channels, self.num_classes)
    self.discriminator = Discriminator(m.channels, self.num_classes, m.spectral_norm)


def make_dcgan(signature) -> DCGANNetworks:
  """The networks a saved GAN run's signature describes (for readers of the run)."""
  s = ml_collections.ConfigDict(dict(signature))
  return DCGANNetworks(s.model, tuple(s.image_shape), s.num_classes)
