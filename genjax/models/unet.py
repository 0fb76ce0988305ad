"""The DDPM U-Net (Ho et al., 2020, Appendix B), at their size or scaled down.

The layers of the released `diffusion_tf/models/unet.py`: sinusoidal time embedding -> a
4*channels MLP; residual blocks (GroupNorm, swish, conv, + a projection of the time
embedding, GroupNorm, swish, dropout, zero-initialised conv; a 1x1 shortcut where the
width changes); single-head self-attention at the resolutions in `attn_resolutions` and in
the middle; 3x3 stride-2 conv downsampling; nearest-neighbour upsampling and a 3x3 conv. So
their CIFAR-10 model (channels 128, mults (1, 2, 2, 2), 2 blocks, attention at 16x16) has
their 35.7M parameters. Upsampling goes to the skip connection's own size, so odd sizes
(28 -> 14 -> 7) work too. The sinusoids' frequencies are 10000^(-i/half), where the
released code divides by half - 1: the same parameters, a slightly different embedding.
Optional class conditioning adds a learned class embedding to the time embedding; index
`num_classes` is the "no label" class that classifier-free guidance trains with label
dropout. `remat` recomputes each residual and attention block in the backward pass
(`genjax.models.remat`).
"""

from __future__ import annotations

import functools
import itertools
import math
from typing import Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp

from genjax.models import conv
from genjax.models.conv import Conv
from genjax.models.remat import REMAT, remat_block


def timestep_embedding(t: jax.Array, dim: int, max_period: float = 10000.0) -> jax.Array:
  """Transformer sinusoids of the integer timesteps t [B] -> [B, dim] (dim even)."""
  half = dim // 2
  freqs = jnp.exp(-math.log(max_period) * jnp.arange(half, dtype=jnp.float32) / half)
  args = jnp.asarray(t, jnp.float32)[:, None] * freqs[None]
  return jnp.concatenate([jnp.sin(args), jnp.cos(args)], axis=-1)


def _norm(channels: int, groups: int, dtype) -> nn.GroupNorm:
  # flax computes the statistics in float32 whatever the dtype.
  return nn.GroupNorm(num_groups=math.gcd(groups, channels), dtype=dtype)


class ResBlock(nn.Module):
  channels: int
  groups: int = 32
  dropout: float = 0.0
  conv: str = 'auto'  # genjax.models.conv's formulation
  dtype: str = 'float32'  # activations and matmul inputs

  @nn.compact
  def __call__(self, x, emb, train: bool):
    h = nn.swish(_norm(x.shape[-1], self.groups, self.dtype)(x))
    h = Conv(self.channels, (3, 3), formulation=self.conv)(h)
    h = h + nn.Dense(self.channels, dtype=self.dtype)(nn.swish(emb))[:, None, None, :]
    h = nn.swish(_norm(self.channels, self.groups, self.dtype)(h))
    h = nn.Dropout(self.dropout, deterministic=not train)(h)
    h = Conv(self.channels, (3, 3), kernel_init=nn.initializers.zeros,
             formulation=self.conv)(h)
    if x.shape[-1] != self.channels:
      x = Conv(self.channels, (1, 1), formulation=self.conv)(x)
    return x + h


class AttnBlock(nn.Module):
  """Single-head self-attention over the H*W positions, residual."""
  groups: int = 32
  dtype: str = 'float32'

  @nn.compact
  def __call__(self, x):
    b, h, w, c = x.shape
    y = _norm(c, self.groups, self.dtype)(x).reshape(b, h * w, c)
    q, k, v = (nn.Dense(c, dtype=self.dtype)(y) for _ in range(3))
    logits = jnp.einsum('bqc,bkc->bqk', q, k).astype(jnp.float32) / math.sqrt(c)
    attn = jax.nn.softmax(logits, axis=-1).astype(self.dtype)
    out = nn.Dense(c, kernel_init=nn.initializers.zeros, dtype=self.dtype)(
        jnp.einsum('bqk,bkc->bqc', attn, v))
    return x + out.reshape(b, h, w, c)


class UNet(nn.Module):
  """net(x [B,H,W,C], t [B] int, y [B] int or None, train) -> [B,H,W,C]."""
  channels: int = 64
  channel_mults: Sequence[int] = (1, 2, 2)
  num_res_blocks: int = 2
  attn_resolutions: Sequence[int] = (7,)
  dropout: float = 0.1
  norm_groups: int = 32
  num_classes: int = 0  # > 0: class-conditional, with a "no label" class at num_classes
  conv: str = 'auto'  # genjax.models.conv's formulation: 'auto', 'xla' or 'taps'
  # Activations and matmul inputs ('float32' or 'bfloat16'); params and the output float32.
  dtype: str = 'float32'
  remat: str = 'none'  # `genjax.models.remat.REMAT`: recompute blocks in the backward pass

  @nn.compact
  def __call__(self, x, t, y=None, train: bool = False):
    ch, g, dtype = self.channels, self.norm_groups, self.dtype
    out_channels = x.shape[-1]
    x = x.astype(dtype)
    emb = timestep_embedding(t, ch)
    emb = nn.Dense(4 * ch, dtype=dtype)(nn.swish(nn.Dense(4 * ch, dtype=dtype)(emb)))
    if self.num_classes:
      if y is None:
        y = jnp.full((x.shape[0],), self.num_classes, jnp.int32)
      emb = emb + nn.Embed(self.num_classes + 1, 4 * ch, dtype=dtype)(y)
    # Named as flax names the unwrapped blocks (ResBlock_0, ...), so that every remat
    # choice has the same parameter tree.
    res_blocks, attn_blocks = itertools.count(), itertools.count()
    res_block = remat_block(ResBlock, self.remat, static_argnums=(3,))  # train
    attn_block = remat_block(AttnBlock, self.remat)
    block = lambda c: res_block(c, g, self.dropout, self.conv, dtype,
                                name=f'ResBlock_{next(res_blocks)}')
    attention = lambda: attn_block(g, dtype, name=f'AttnBlock_{next(attn_blocks)}')
    conv = functools.partial(Conv, formulation=self.conv)
    attend = lambda h: attention()(h) if h.shape[1] in self.attn_resolutions else h

    h = conv(ch, (3, 3))(x)
    skips = [h]
    for level, mult in enumerate(self.channel_mults):
      for _ in range(self.num_res_blocks):
        h = attend(block(ch * mult)(h, emb, train))
        skips.append(h)
      if level < len(self.channel_mults) - 1:
        h = conv(h.shape[-1], (3, 3), strides=(2, 2))(h)
        skips.append(h)
    h = block(h.shape[-1])(h, emb, train)
    h = attention()(h)
    h = block(h.shape[-1])(h, emb, train)
    for level, mult in reversed(list(enumerate(self.channel_mults))):
      for _ in range(self.num_res_blocks + 1):
        h = attend(block(ch * mult)(jnp.concatenate([h, skips.pop()], -1), emb, train))
      if level > 0:
        target = skips[-1].shape
        h = jax.image.resize(h, (h.shape[0], target[1], target[2], h.shape[-1]), 'nearest')
        h = conv(h.shape[-1], (3, 3))(h)
    assert not skips
    h = nn.swish(_norm(h.shape[-1], g, dtype)(h))
    out = conv(out_channels, (3, 3), kernel_init=nn.initializers.zeros)(h)
    return out.astype(jnp.float32)  # the loss is computed in float32


def make_model(m, num_classes: int, dtype: str = 'float32', remat: str = 'none') -> UNet:
  """The U-Net of a diffusion run's model config (or saved signature['model']) `m`,
  computing in `dtype`, its blocks recomputed in the backward pass as `remat` asks."""
  return UNet(channels=m['channels'], channel_mults=tuple(m['channel_mults']),
              num_res_blocks=m['num_res_blocks'], attn_resolutions=tuple(m['attn_resolutions']),
              dropout=m['dropout'], norm_groups=m['norm_groups'],
              num_classes=num_classes if m['conditional'] else 0,
              conv=m.get('conv', 'auto'), dtype=dtype, remat=remat)


# The `model` fields of a U-Net config and the values each takes, for the families built on
# it (`FamilyDef.ranges`).
RANGES = {
    'model.channels': 'positive',
    'model.channel_mults': 'positive_each',
    'model.num_res_blocks': 'positive',
    'model.attn_resolutions': 'positive_each_or_empty',  # (): attention in the middle only
    'model.dropout': 'unit_interval',
    'model.norm_groups': 'positive',
    'model.label_dropout': 'unit_interval',
    'model.conv': conv.FORMULATIONS,
    'model.remat': REMAT,
}
