"""Bodies that map images to vectors and vectors back: an MLP and stride-2 convolutions.

Shared by the VAE and the autoencoder; each model adds its own code layer and output head.
"""

from __future__ import annotations

from typing import Any

import flax.linen as nn

from genjax.models.conv import Conv, ConvTranspose

ACTIVATIONS = {'relu': nn.relu, 'tanh': nn.tanh, 'elu': nn.elu, 'gelu': nn.gelu,
               'softplus': nn.softplus}


class MLP(nn.Module):
  """Dense layers of `widths`, each followed by `act`; () is the identity."""
  widths: tuple[int, ...]
  act: callable
  flatten_image: bool = False  # [..., H, W, C] -> [..., H*W*C]
  dtype: Any = None  # the layers' computation dtype (flax's); None: their inputs'

  @nn.compact
  def __call__(self, x):
    if self.flatten_image:
      x = x.reshape(x.shape[:-3] + (-1,))
    for w in self.widths:
      x = self.act(nn.Dense(w, dtype=self.dtype)(x))
    return x


class ConvDown(nn.Module):
  """Stride-2 3x3 convolutions of `channels`, flattened: [..., H, W, C] -> [..., F]."""
  channels: tuple[int, ...]
  act: callable

  @nn.compact
  def __call__(self, x):
    for c in self.channels:
      x = self.act(Conv(c, (3, 3), strides=(2, 2))(x))  # computes in x's dtype
    return x.reshape(x.shape[:-3] + (-1,))


class ConvUp(nn.Module):
  """A vector to a [..., H, W, channels[0]] map: Dense, then stride-2 transposed convs."""
  channels: tuple[int, ...]
  image_shape: tuple[int, ...]
  act: callable
  dtype: Any = None

  @nn.compact
  def __call__(self, z):
    factor = 2**len(self.channels)
    h, w = self.image_shape[0] // factor, self.image_shape[1] // factor
    if h * factor != self.image_shape[0] or w * factor != self.image_shape[1]:
      raise ValueError(f'A conv decoder with {len(self.channels)} stride-2 layers needs '
                       f'image sides divisible by {factor}, got {self.image_shape}.')
    lead = z.shape[:-1]
    x = self.act(nn.Dense(h * w * self.channels[-1], dtype=self.dtype)(z))  # then x's dtype
    x = x.reshape((-1, h, w, self.channels[-1]))
    for c in reversed(self.channels):
      x = self.act(ConvTranspose(c, (3, 3), strides=(2, 2))(x))
    return x.reshape(lead + x.shape[1:])
