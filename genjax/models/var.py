"""The VAR transformer (Tian et al., 2024): next-scale prediction over multi-scale tokens.

The sequence is the S token maps of `genjax.models.multiscale_quantizer`, scale after
scale, L = sum_k p_k^2 positions. Scale 1's positions hold the start token (the class
embedding; one extra "null" class is the unconditional model for classifier-free
guidance); scale k+1's hold the cumulative f_hat of scales 1..k, area-downsampled to
p_{k+1} x p_{k+1}, through a linear embedding (teacher forcing as the official
`idxBl_to_var_input` does). Learned absolute positions and a learned embedding of each
position's scale are added. Attention is block-causal, `attn_bias_for_masking` in the
official `models/var.py`: a position sees every position of its own scale and of coarser
ones, so the logits of scale k depend on scales < k only through the inputs, and all p_k^2
tokens of a scale are predicted at once. The blocks are the raster Transformer's
(`genjax.models.transformer.Block`); VAR's AdaLN conditioning is not used here.

`decode_scale` runs one whole scale against the blocks' key/value caches, S steps a
sample.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from flax import linen as nn

from genjax.models import multiscale_quantizer as multiscale
from genjax.models.transformer import Block


def scale_of_position(scales) -> np.ndarray:
  """int [L]: which scale each position of the sequence belongs to."""
  return np.concatenate([np.full(p * p, k, np.int32) for k, p in enumerate(scales)])


def block_causal_mask(scales) -> np.ndarray:
  """bool [L, L]: position i may attend to j when scale(j) <= scale(i)."""
  level = scale_of_position(scales)
  return level[:, None] >= level[None, :]


class VARTransformer(nn.Module):
  scales: tuple[int, ...]
  num_codes: int
  dim: int = 128
  num_heads: int = 4
  num_layers: int = 4
  mlp_ratio: int = 4
  num_classes: int = 0  # 0: unconditional; else classes 0..C-1 and the null class C

  def setup(self):
    if self.dim % self.num_heads:
      raise ValueError(f'dim={self.dim} must be divisible by num_heads={self.num_heads}.')
    length = multiscale.sequence_length(self.scales)
    self.start = nn.Embed(self.num_classes + 1, self.dim,
                          embedding_init=nn.initializers.normal(0.02))
    self.word_embed = nn.Dense(self.dim)
    self.positions = self.param('positions', nn.initializers.normal(0.02), (length, self.dim))
    self.level_embed = nn.Embed(len(self.scales), self.dim,
                                embedding_init=nn.initializers.normal(0.02))
    self.blocks = [Block(self.dim, self.num_heads, self.mlp_ratio)
                   for _ in range(self.num_layers)]
    self.ln_f = nn.LayerNorm()
    self.head = nn.Dense(self.num_codes)

  @property
  def null_class(self) -> int:
    return self.num_classes

  def _start(self, y, batch: int) -> jax.Array:
    """[B, p_1^2, dim]: the class (or null) embedding at every position of scale 1."""
    if y is None:
      y = jnp.full((batch,), self.null_class, jnp.int32)
    first = self.scales[0] ** 2
    return jnp.broadcast_to(self.start(y)[:, None, :], (batch, first, self.dim))

  def _embed(self, h: jax.Array, first: int) -> jax.Array:
    """Adds the positions and scale embeddings of positions first..first+n-1."""
    n = h.shape[1]
    level = jnp.asarray(scale_of_position(self.scales)[first:first + n])
    return h + self.positions[first:first + n][None] + self.level_embed(level)[None]

  def __call__(self, inputs: jax.Array, y: jax.Array | None = None) -> jax.Array:
    """Teacher-forcing inputs [B, L - p_1^2, D] and labels [B] (None: the null class) ->
    logits [B, L, K] of every token."""
    b = inputs.shape[0]
    h = jnp.concatenate([self._start(y, b), self.word_embed(inputs)], axis=1)
    h = self._embed(h, 0)
    mask = jnp.asarray(block_causal_mask(self.scales))
    for block in self.blocks:
      h = block(h, mask)
    return self.head(self.ln_f(h))

  def decode_init(self, batch_size: int):
    length = multiscale.sequence_length(self.scales)
    shape = (batch_size, length, self.num_heads, self.dim // self.num_heads)
    return {'k': [jnp.zeros(shape) for _ in self.blocks],
            'v': [jnp.zeros(shape) for _ in self.blocks]}

  def decode_scale(self, state, inputs: jax.Array | None, k: int, y: jax.Array | None,
                   batch_size: int):
    """Logits [B, p_k^2, K] of scale k (a Python int) from its inputs [B, p_k^2, D]
    (None for scale 0, the start token) and the caches of scales < k."""
    first = int(sum(p * p for p in self.scales[:k]))
    h = self._start(y, batch_size) if k == 0 else self.word_embed(inputs)
    h = self._embed(h, first)
    ks, vs = [], []
    for i, block in enumerate(self.blocks):
      h, ck, cv = block.step(h, state['k'][i], state['v'][i], first)
      ks.append(ck)
      vs.append(cv)
    return self.head(self.ln_f(h)), {'k': ks, 'v': vs}
