"""The VQ-VAE's convolutional encoder and decoder (van den Oord et al., 2017, section 4.1).

Encoder: stride-2 4x4 convolutions (28x28 -> 14x14 -> 7x7 with two of them), a 3x3
convolution, residual blocks (ReLU, 3x3, ReLU, 1x1) and a 1x1 projection to the code
dimension D. Decoder: the mirror image, transposed 4x4 stride-2 convolutions back to pixels
(`genjax.models.conv_transpose`), ending in two maps per pixel, the mean and log-scale of
a discretized likelihood. The
codebook is not part of this module: it is a parameter (codebook loss) or a model state
(EMA), handled by `genjax.models.quantizer`. With `scales` (VAR's multi-scale residual
tokenizer, `genjax.models.multiscale_quantizer`) the module also holds one 3x3 conv phi_k
per scale, blended half and half with the identity.
"""

from __future__ import annotations

import flax.linen as nn
import jax

from genjax.models.conv import Conv
from genjax.models.conv_transpose import ConvTranspose4x4Stride2


class ResidualBlock(nn.Module):
  channels: int
  hidden: int

  @nn.compact
  def __call__(self, x):
    h = Conv(self.hidden, (3, 3))(nn.relu(x))
    return x + Conv(self.channels, (1, 1))(nn.relu(h))


class Encoder(nn.Module):
  channels: int
  res_hidden: int
  num_res_blocks: int
  downsamples: int
  code_dim: int

  @nn.compact
  def __call__(self, x):
    for i in range(self.downsamples):
      width = self.channels // 2 if i + 1 < self.downsamples else self.channels
      x = nn.relu(Conv(width, (4, 4), strides=(2, 2))(x))
    x = Conv(self.channels, (3, 3))(x)
    for _ in range(self.num_res_blocks):
      x = ResidualBlock(self.channels, self.res_hidden)(x)
    return Conv(self.code_dim, (1, 1))(nn.relu(x))


class Decoder(nn.Module):
  channels: int
  res_hidden: int
  num_res_blocks: int
  downsamples: int
  out_channels: int

  @nn.compact
  def __call__(self, z):
    x = Conv(self.channels, (3, 3))(z)
    for _ in range(self.num_res_blocks):
      x = ResidualBlock(self.channels, self.res_hidden)(x)
    x = nn.relu(x)
    for i in range(self.downsamples):
      # nn.ConvTranspose's function and param names, without its multiply-adds by the
      # dilation's zeros (genjax.models.conv_transpose).
      x = nn.relu(ConvTranspose4x4Stride2(self.channels // 2, name=f'ConvTranspose_{i}')(x))
    return Conv(self.out_channels, (3, 3))(x)


class VQVAE(nn.Module):
  """Images [B, H, W, C] in [-1, 1] -> encoder outputs z_e [B, H/2^s, W/2^s, D], and codes'
  vectors back to per-pixel (mean, log_scale) [B, H, W, C] each."""
  image_shape: tuple[int, ...] = (28, 28, 1)
  channels: int = 128
  res_hidden: int = 32
  num_res_blocks: int = 2
  downsamples: int = 2
  code_dim: int = 64
  scales: tuple[int, ...] = ()  # () one code map; else VAR's schedule, ending at the side
  phi_blend: float = 0.5  # VAR's quant_resi: phi_k(h) = (1 - r) h + r conv_k(h)

  def setup(self):
    factor = 2**self.downsamples
    h, w, c = self.image_shape
    if h % factor or w % factor:
      raise ValueError(f'{self.downsamples} stride-2 layers need image sides divisible by '
                       f'{factor}, got {self.image_shape}; change model.downsamples.')
    self.encoder = Encoder(self.channels, self.res_hidden, self.num_res_blocks,
                           self.downsamples, self.code_dim)
    self.decoder = Decoder(self.channels, self.res_hidden, self.num_res_blocks,
                           self.downsamples, 2 * c)
    self.phis = [Conv(self.code_dim, (3, 3), name=f'phi_{k}')
                 for k in range(len(self.scales))]

  @property
  def code_shape(self) -> tuple[int, int]:
    factor = 2**self.downsamples
    return self.image_shape[0] // factor, self.image_shape[1] // factor

  def encode(self, x: jax.Array) -> jax.Array:
    return self.encoder(x)

  def decode(self, z_q: jax.Array) -> tuple[jax.Array, jax.Array]:
    out = self.decoder(z_q)
    c = self.image_shape[-1]
    return out[..., :c], out[..., c:]

  def phi(self, h: jax.Array, k: int) -> jax.Array:
    return (1.0 - self.phi_blend) * h + self.phi_blend * self.phis[k](h)

  def __call__(self, x: jax.Array):
    z = self.encode(x)
    for k in range(len(self.scales)):  # so that init creates every phi_k
      z = self.phi(z, k)
    return self.decode(z)
