"""The VQ-VAE's convolutional encoder and decoder (van den Oord et al., 2017, section 4.1).

Encoder: stride-2 4x4 convolutions (28x28 -> 14x14 -> 7x7 with two of them, 32x32 -> 8x8 on
CIFAR-10), a 3x3 convolution, residual blocks (ReLU, 3x3, ReLU, 1x1) and a 1x1 projection
to G code vectors of dimension D per position. The paper's encoder is the two stride-2
convolutions and the residual blocks, all 256 wide; this one is sonnet's layout of it (the
first stride-2 convolution half as wide, the 3x3 convolution before the blocks, the 1x1
projection to the codes). Decoder: the mirror image, transposed 4x4 stride-2 convolutions
back to pixels (`genjax.models.conv_transpose`), ending in two maps per pixel and channel,
the mean and log-scale of a discretized likelihood.

Several codes per position (`code_groups` G > 1): the paper's CIFAR-10 latent field is
8x8x10, ten discrete latents at each of the 8x8 positions. The encoder's G*D channels are
split into G vectors of D, each quantised on its own against the one codebook, and laid
out along the width: the code grid is [h, w*G], the G codes of a position side by side
(position (i, j)'s code g at column j*G + g). Every consumer of a code grid (the EMA
codebook, perplexity, the uniform-prior bound, the priors over codes) then reads a 2-D
grid, and a raster prior's order over it is row, column, then code within the position.
The decoder reads the G vectors of a position concatenated back into G*D channels.

The codebook is not part of this module: it is a parameter (codebook loss) or a model state
(EMA), handled by `genjax.models.quantizer`. With `scales` (VAR's multi-scale residual
tokenizer, `genjax.models.multiscale_quantizer`) the module also holds one 3x3 conv phi_k
per scale, blended half and half with the identity; its tokens are one code a position.

`dtype` 'bfloat16' computes the encoder, the decoder and the phi_k convolutions in
bfloat16 (every conv computes in its input's dtype); what they hand on is float32: the
encoder's z_e, so that the distances to the codebook and the VQ losses are float32
(`genjax.models.quantizer`), phi_k's output, and the decoder's mean and log-scale, from
which the likelihood is computed.
"""

from __future__ import annotations

import flax.linen as nn
import jax
import jax.numpy as jnp

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
  code_groups: int = 1  # G codes per position; the grid is [h, w * G]
  scales: tuple[int, ...] = ()  # () one code map; else VAR's schedule, ending at the side
  phi_blend: float = 0.5  # VAR's quant_resi: phi_k(h) = (1 - r) h + r conv_k(h)
  dtype: str = 'float32'  # the convolutions' computation; params and outputs float32

  def setup(self):
    factor = 2**self.downsamples
    h, w, c = self.image_shape
    if h % factor or w % factor:
      raise ValueError(f'{self.downsamples} stride-2 layers need image sides divisible by '
                       f'{factor}, got {self.image_shape}; change model.downsamples.')
    if self.scales and self.code_groups != 1:
      raise ValueError('Multi-scale tokens are one code a position; set '
                       'model.code_groups=1 with model.scales.')
    self.encoder = Encoder(self.channels, self.res_hidden, self.num_res_blocks,
                           self.downsamples, self.code_groups * self.code_dim)
    self.decoder = Decoder(self.channels, self.res_hidden, self.num_res_blocks,
                           self.downsamples, 2 * c)
    self.phis = [Conv(self.code_dim, (3, 3), name=f'phi_{k}')
                 for k in range(len(self.scales))]

  @property
  def code_shape(self) -> tuple[int, int]:
    """The code grid [h, w * G] of one image."""
    factor = 2**self.downsamples
    return self.image_shape[0] // factor, self.image_shape[1] // factor * self.code_groups

  def encode(self, x: jax.Array) -> jax.Array:
    """Images [B, H, W, C] -> code vectors z_e [B, h, w * G, D]."""
    z = self.encoder(x.astype(self.dtype)).astype(jnp.float32)
    b, h, w, _ = z.shape
    return z.reshape(b, h, w * self.code_groups, self.code_dim)

  def decode(self, z_q: jax.Array) -> tuple[jax.Array, jax.Array]:
    """Code vectors [B, h, w * G, D] -> the decoder's (mean, log_scale) [B, H, W, C] each."""
    b, h, wg, d = z_q.shape
    out = self.decoder(z_q.reshape(b, h, wg // self.code_groups, self.code_groups * d)
                       .astype(self.dtype)).astype(jnp.float32)
    c = self.image_shape[-1]
    return out[..., :c], out[..., c:]

  def phi(self, h: jax.Array, k: int) -> jax.Array:
    conv = self.phis[k](h.astype(self.dtype)).astype(h.dtype)
    return (1.0 - self.phi_blend) * h + self.phi_blend * conv

  def __call__(self, x: jax.Array):
    z = self.encode(x)
    for k in range(len(self.scales)):  # so that init creates every phi_k
      z = self.phi(z, k)
    return self.decode(z)
