"""A denoiser for vector data (a VAE's latents): the U-Net's interface over an MLP.

net(x [B, d], t [B] int, y [B] int or None, train) -> [B, d], as `genjax.models.unet.UNet`
takes images: the U-Net's sinusoidal time embedding -> a 4*hidden MLP, optionally plus a
class embedding (index `num_classes` is the "no label" class of classifier-free guidance);
then `num_blocks` pre-norm residual blocks (LayerNorm, swish, dense, + a projection of the
embedding, swish, zero-initialised dense), so the net starts as the identity on its
hidden features and predicts zero; a zero-initialised dense out.
"""

from __future__ import annotations

import flax.linen as nn
import jax.numpy as jnp

from genjax.models.unet import timestep_embedding


class ResidualDenseBlock(nn.Module):
  width: int
  dtype: str = 'float32'

  @nn.compact
  def __call__(self, h, emb):
    r = nn.Dense(self.width, dtype=self.dtype)(nn.swish(nn.LayerNorm(dtype=self.dtype)(h)))
    r = r + nn.Dense(self.width, dtype=self.dtype)(nn.swish(emb))
    r = nn.Dense(self.width, kernel_init=nn.initializers.zeros, dtype=self.dtype)(nn.swish(r))
    return h + r


class MLPDenoiser(nn.Module):
  """net(x [B, d], t [B] int, y [B] int or None, train) -> [B, d]."""
  hidden: int = 256
  num_blocks: int = 3
  num_classes: int = 0  # > 0: class-conditional, with a "no label" class at num_classes
  dtype: str = 'float32'  # activations and matmul inputs; params and the output float32

  @nn.compact
  def __call__(self, x, t, y=None, train: bool = False):
    del train  # no dropout
    emb = timestep_embedding(t, self.hidden)
    emb = nn.Dense(4 * self.hidden, dtype=self.dtype)(
        nn.swish(nn.Dense(4 * self.hidden, dtype=self.dtype)(emb)))
    if self.num_classes:
      if y is None:
        y = jnp.full((x.shape[0],), self.num_classes, jnp.int32)
      emb = emb + nn.Embed(self.num_classes + 1, 4 * self.hidden, dtype=self.dtype)(y)
    h = nn.Dense(self.hidden, dtype=self.dtype)(x.astype(self.dtype))
    for _ in range(self.num_blocks):
      h = ResidualDenseBlock(self.hidden, self.dtype)(h, emb)
    h = nn.swish(nn.LayerNorm(dtype=self.dtype)(h))
    out = nn.Dense(x.shape[-1], kernel_init=nn.initializers.zeros, dtype=self.dtype)(h)
    return out.astype(jnp.float32)


def make_model(hidden: int, num_blocks: int, num_classes: int,
               dtype: str = 'float32') -> MLPDenoiser:
  return MLPDenoiser(hidden=hidden, num_blocks=num_blocks, num_classes=num_classes,
                     dtype=dtype)

