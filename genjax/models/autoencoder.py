"""A deterministic autoencoder: an MLP or convolutional encoder to a linear code, and back.

Hinton & Salakhutdinov (2006) train a 784-1000-500-250-30 MLP with logistic units and a
linear code layer. With `hidden=()` and `output='linear'` the encoder and decoder are both
affine: the linear autoencoder whose minimum spans the principal subspace (Baldi & Hornik,
1989), to be compared with `genjax.models.pca`. The objectives live in
`genjax.objectives.reconstruction`.
"""

from __future__ import annotations

import math
from typing import Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp

from genjax.models import image_bodies
from genjax.models.conv import Conv

ACTIVATIONS = {**image_bodies.ACTIVATIONS, 'sigmoid': nn.sigmoid}
ARCHITECTURES = ('mlp', 'conv')
OUTPUTS = ('sigmoid', 'linear')


class Autoencoder(nn.Module):
  """x -> code (linear, `code_size` units) -> decoder output -> reconstruction.

  Attributes:
    image_shape: (H, W, C) of the data.
    code_size: units of the code layer.
    hidden: MLP hidden widths of the encoder; the decoder mirrors them. () is affine.
    activation: a name in ACTIVATIONS, applied after each hidden layer.
    architecture: 'mlp', or 'conv' (stride-2 convolutions with `conv_channels`).
    output: 'sigmoid' (pixels in [0, 1]; the decoder output is their logits) or 'linear'.
    dtype: the layers' computation ('float32' or 'bfloat16'); the params, the codes and the
      decoder output (so the reconstruction loss) are float32.
  """
  image_shape: Sequence[int] = (28, 28, 1)
  code_size: int = 30
  hidden: Sequence[int] = (1000, 500, 250)
  activation: str = 'relu'
  architecture: str = 'mlp'
  conv_channels: Sequence[int] = (32, 64)
  output: str = 'sigmoid'
  dtype: str = 'float32'

  def setup(self):
    for name, value, allowed in (('activation', self.activation, tuple(ACTIVATIONS)),
                                 ('architecture', self.architecture, ARCHITECTURES),
                                 ('output', self.output, OUTPUTS)):
      if value not in allowed:
        raise ValueError(f"{name} '{value}' is not one of {sorted(allowed)}")
    act, dtype = ACTIVATIONS[self.activation], self.dtype
    if self.architecture == 'mlp':
      self.encoder_body = image_bodies.MLP(tuple(self.hidden), act, flatten_image=True,
                                           dtype=dtype)
      self.decoder_body = image_bodies.MLP(tuple(reversed(self.hidden)), act, dtype=dtype)
      self.decoder_out = nn.Dense(math.prod(self.image_shape), dtype=dtype)
    else:  # the convs compute in their input's dtype
      self.encoder_body = image_bodies.ConvDown(tuple(self.conv_channels), act)
      self.decoder_body = image_bodies.ConvUp(tuple(self.conv_channels),
                                              tuple(self.image_shape), act, dtype=dtype)
      self.decoder_out = Conv(self.image_shape[-1], (3, 3))
    self.to_code = nn.Dense(self.code_size, dtype=dtype)

  def encode(self, x: jax.Array) -> jax.Array:
    """Images [..., H, W, C] -> codes [..., code_size]."""
    return self.to_code(self.encoder_body(x.astype(self.dtype))).astype(jnp.float32)

  def decoder_output(self, code: jax.Array) -> jax.Array:
    """The decoder's last layer [..., H, W, C]: logits for a sigmoid output."""
    out = self.decoder_out(self.decoder_body(code.astype(self.dtype))).astype(jnp.float32)
    return out.reshape(code.shape[:-1] + tuple(self.image_shape))

  def decode(self, code: jax.Array) -> jax.Array:
    return to_image(self.decoder_output(code), self.output)

  def reconstruct(self, x: jax.Array) -> jax.Array:
    return self.decode(self.encode(x))

  def __call__(self, x: jax.Array) -> jax.Array:
    """The decoder output of x's code (logits for a sigmoid output)."""
    return self.decoder_output(self.encode(x))


def to_image(decoder_output: jax.Array, output: str) -> jax.Array:
  """The reconstruction a decoder output stands for."""
  return jax.nn.sigmoid(decoder_output) if output == 'sigmoid' else decoder_output


def decoder_weights(params) -> jnp.ndarray:
  """A linear MLP autoencoder's decoder matrix [code_size, D]; its rows span the decoded
  subspace."""
  return params['params']['decoder_out']['kernel']


def encoder_weights(params) -> jnp.ndarray:
  """A linear MLP autoencoder's encoder matrix [D, code_size]."""
  return params['params']['to_code']['kernel']
