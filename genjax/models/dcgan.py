"""DCGAN's generator and discriminator (Radford et al., 2016), their depth set by the image size.

Generator: z -> a dense layer to (H/2^n)x(W/2^n)x(2^(n-1) c) (PyTorch's dcgan writes it as
a transposed convolution from 1x1, the same map) -> n stride-2 transposed convolutions,
halving the width at each, to c at H/2 and the image's C channels at H -> tanh; BatchNorm
and ReLU after every hidden layer, no biases before BatchNorm. n, the number of stride-2
layers, halves the side down to 4 (`num_upsamplings`: log2(H/4) for 32 and 64) and is at
least 2 (the 28x28 model starts at 7x7). At 64x64 with c = 128 this is the paper's Fig. 1:
4x4x1024 -> 8x8x512 -> 16x16x256 -> 32x32x128 -> 64x64x3 (pytorch/examples halves the
widths, c = 64).
Discriminator, the mirror image: n stride-2 convolutions (H -> H/2 -> ... -> H/2^n) of
widths c, 2c, ..., 2^(n-1) c with LeakyReLU(0.2) and BatchNorm after every one but the first
(as DCGAN), no pooling and no dense hidden layer: one linear map of the last feature map to
a logit (a convolution as large as the map). With `spectral_norm` every layer of D is
spectrally normalised and D drops its BatchNorm (Miyato et al., 2018). Weights start from
N(0, 0.02), BatchNorm scales from N(1, 0.02), as the paper and pytorch/examples do.

Kernels are 4x4 (pytorch/examples'), not the paper's 5x5: a 4x4 kernel at stride 2 covers
every output pixel with the same number of taps (the kernel size is a multiple of the
stride, so no checkerboard from uneven overlap; Odena et al., 2016), and it splits into
four 2x2 phase convolutions (`conv_transpose.ConvTranspose4x4Stride2`) that skip the
dilation's zeros; the layer shapes are the paper's either way.

The latent is N(0, I) by default; latent='uniform' draws U(-1, 1)^d, the paper's.

Class-conditional p(x|y): G reads a learned class embedding concatenated to z; D adds the
projection term <embed(y), h> to its logit (Miyato & Koyama, 2018).

BatchNorm's statistics are the `batch_stats` collection: the train state's model state.
Sampling uses running statistics (train=False), so a sample does not depend on the other
samples of its batch; `calibrate` recomputes them for weights whose statistics were never
tracked (the generator's EMA).

`dtype` 'bfloat16' computes both networks in bfloat16 (BatchNorm's statistics are float32
whatever the dtype, flax's); the params, the statistics, G's images and D's logits, from
which the losses are computed, are float32, and so is spectral norm's power iteration on
the weights.
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


def _batch_norm(train: bool, momentum: float, dtype: str) -> nn.BatchNorm:
  # PyTorch's momentum 0.1 is flax's 0.9: running = 0.9 running + 0.1 batch.
  return nn.BatchNorm(use_running_average=not train, momentum=momentum, epsilon=1e-5,
                      scale_init=_bn_scale_init, dtype=dtype)


def num_upsamplings(side: int) -> int:
  """The stride-2 layers for a side: halvings down to 4 (log2(side / 4) for a power of two
  times 4), at least 2 (28 -> 7 as the 28x28 model; 8 -> 2 on the digits)."""
  n = 0
  while side % 2 == 0 and side // 2 >= 4:
    side //= 2
    n += 1
  return max(n, 2)


def _depth(height: int, width: int) -> int:
  return min(num_upsamplings(height), num_upsamplings(width))


LATENTS = ('normal', 'uniform')


def draw_latents(rng: jax.Array, shape, latent: str = 'normal') -> jax.Array:
  """z of `shape`: N(0, I), or U(-1, 1) as Radford et al. draw it."""
  if latent == 'uniform':
    return jax.random.uniform(rng, shape, minval=-1.0, maxval=1.0)
  if latent == 'normal':
    return jax.random.normal(rng, shape)
  raise ValueError(f'Unknown latent {latent!r}; choose one of {LATENTS}.')


class Generator(nn.Module):
  """z [B, latent_dim] (and labels [B]) -> images [B, H, W, C] in [-1, 1]."""
  image_shape: tuple[int, int, int]
  channels: int = 64  # at H/2; doubled at each coarser layer
  num_classes: int = 0
  bn_momentum: float = 0.9
  dtype: str = 'float32'  # the layers' computation; the images are float32

  @nn.compact
  def __call__(self, z: jax.Array, y: jax.Array | None = None, train: bool = True):
    h, w, c_out = self.image_shape
    n = _depth(h, w)
    if self.num_classes:
      z = jnp.concatenate([z, nn.Embed(self.num_classes, z.shape[-1], embedding_init=INIT,
                                       name='class_embed')(y)], axis=-1)
    start = (h // 2**n, w // 2**n, self.channels * 2**(n - 1))
    x = nn.Dense(start[0] * start[1] * start[2], use_bias=False, kernel_init=INIT,
                 dtype=self.dtype)(z)
    x = x.reshape((z.shape[0],) + start)
    x = nn.relu(_batch_norm(train, self.bn_momentum, self.dtype)(x))
    for i in range(n - 2, -1, -1):  # widths 2^i c, down to c at H/2
      # The transposed convolutions compute in their input's dtype.
      x = ConvTranspose4x4Stride2(self.channels * 2**i, use_bias=False, kernel_init=INIT)(x)
      x = nn.relu(_batch_norm(train, self.bn_momentum, self.dtype)(x))
    return jnp.tanh(ConvTranspose4x4Stride2(c_out, kernel_init=INIT)(x).astype(jnp.float32))


class Discriminator(nn.Module):
  """images [B, H, W, C] in [-1, 1] (and labels [B]) -> logits [B]."""
  channels: int = 64
  num_classes: int = 0
  spectral_norm: bool = False
  bn_momentum: float = 0.9
  dtype: str = 'float32'  # the layers' computation; the logits are float32

  @nn.compact
  def __call__(self, x: jax.Array, y: jax.Array | None = None, train: bool = True):
    def layer(module, inputs):
      if self.spectral_norm:
        return nn.SpectralNorm(module)(inputs, update_stats=train)
      return module(inputs)

    def conv(features, inputs, use_bias):
      return layer(Conv(features, (4, 4), strides=(2, 2), padding=((1, 1), (1, 1)),
                        use_bias=use_bias, kernel_init=INIT), inputs)

    # The convolutions compute in their input's dtype.
    h = nn.leaky_relu(conv(self.channels, x.astype(self.dtype), use_bias=True), 0.2)
    for i in range(1, _depth(*x.shape[1:3])):
      h = conv(self.channels * 2**i, h, use_bias=self.spectral_norm)
      if not self.spectral_norm:
        h = _batch_norm(train, self.bn_momentum, self.dtype)(h)
      h = nn.leaky_relu(h, 0.2)
    h = h.reshape(x.shape[0], -1)
    logit = layer(nn.Dense(1, kernel_init=INIT, dtype=self.dtype), h)[:, 0]
    logit = logit.astype(jnp.float32)
    if self.num_classes:
      embed = nn.Embed(self.num_classes, h.shape[-1], embedding_init=INIT,
                       name='class_embed')(y)
      logit = logit + jnp.sum(embed * h.astype(jnp.float32), axis=-1)
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
  share. `train_generator` and `train_discriminator` are the same networks computing in
  `dtype`, for the train step; the others compute in float32."""

  def __init__(self, m, image_shape, num_classes: int, dtype: str = 'float32'):
    h, w, _ = image_shape
    n = _depth(h, w)
    if h % 2**n or w % 2**n:
      raise ConfigError(
          f'The DCGAN halves {h}x{w} images {n} times; it needs sides divisible by {2**n} '
          '(e.g. 28x28, 32x32, 64x64, or the 8x8 digits).')
    self.num_classes = num_classes if m.conditional else 0
    self.latent_dim = m.latent_dim
    self.latent = m.get('latent', 'normal')  # older runs lack it
    self.generator = Generator(tuple(image_shape), m.channels, self.num_classes)
    self.discriminator = Discriminator(m.channels, self.num_classes, m.spectral_norm)
    self.train_generator = self.generator.clone(dtype=dtype)
    self.train_discriminator = self.discriminator.clone(dtype=dtype)

  def latents(self, rng: jax.Array, num: int) -> jax.Array:
    """num latents [num, latent_dim] from the prior this model was trained with."""
    return draw_latents(rng, (num, self.latent_dim), self.latent)


def make_dcgan(signature) -> DCGANNetworks:
  """The networks a saved GAN run's signature describes (for readers of the run)."""
  s = ml_collections.ConfigDict(dict(signature))
  return DCGANNetworks(s.model, tuple(s.image_shape), s.num_classes)
