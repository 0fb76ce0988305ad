"""The VAR transformer (Tian et al., 2024): next-scale prediction over multi-scale tokens.

The sequence is the S token maps of `genjax.models.multiscale_quantizer`, scale after
scale, L = sum_k p_k^2 positions. The condition is a class embedding (one extra "null"
class is the unconditional model for classifier-free guidance; an unconditional model has
only that one). Scale 1's positions hold the start token, the condition plus a learned
`pos_start`; scale k+1's hold the cumulative f_hat of scales 1..k, area-downsampled to
p_{k+1} x p_{k+1}, through a linear embedding (teacher forcing as the official
`idxBl_to_var_input` does). Learned absolute positions and a learned embedding of each
position's scale are added everywhere. Attention is block-causal, `attn_bias_for_masking`
in the official `models/var.py`: a position sees every position of its own scale and of
coarser ones, so the logits of scale k depend on scales < k only through the inputs, and
all p_k^2 tokens of a scale are predicted at once. The blocks are VAR's AdaLN blocks
(`genjax.models.var_block`), each conditioned on the class embedding, and so is the norm
before the head: the official architecture of `build_vae_var`, parameter for parameter
(d16: 310,283,520 with V=4096, Cvae=32, 1,000 classes and its ten scales).

`decode_scale` runs one whole scale against the blocks' key/value caches, S steps a
sample. `dtype` 'bfloat16' computes the blocks' and the head's linear maps in bfloat16, the
residual stream and the logits staying float32 (`genjax.models.var_block`); `remat`
recomputes each block in the backward pass (`genjax.models.remat`).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from flax import linen as nn

from genjax.models import multiscale_quantizer as multiscale
from genjax.models.remat import remat_block
from genjax.models.var_block import AdaLNBeforeHead, AdaLNSelfAttention, init_std

HEAD_GAIN = 0.02  # VAR's init_head: the head's kernel starts 50x smaller


def scale_of_position(scales) -> np.ndarray:
  """int [L]: which scale each position of the sequence belongs to."""
  return np.concatenate([np.full(p * p, k, np.int32) for k, p in enumerate(scales)])


def block_causal_mask(scales) -> np.ndarray:
  """bool [L, L]: position i may attend to j when scale(j) <= scale(i)."""
  level = scale_of_position(scales)
  return level[:, None] >= level[None, :]


def drop_path_rates(rate: float, depth: int) -> list[float]:
  """Stochastic depth rising linearly from 0 at the first block to `rate` at the last."""
  return [float(r) for r in np.linspace(0.0, rate, depth)]


class VARTransformer(nn.Module):
  scales: tuple[int, ...]
  num_codes: int
  dim: int = 128
  num_heads: int = 4
  num_layers: int = 4
  mlp_ratio: int = 4
  num_classes: int = 0  # 0: unconditional; else classes 0..C-1 and the null class C
  attn_l2_norm: bool = True  # VAR's default: cosine attention with a learned scale
  drop_path: float = 0.0  # the last block's stochastic-depth rate (VAR: 0.1 depth / 24)
  dtype: str = 'float32'  # the linear maps' computation; params and logits float32
  remat: str = 'none'  # `genjax.models.remat.REMAT`: recompute blocks in the backward pass

  def setup(self):
    if self.dim % self.num_heads:
      raise ValueError(f'dim={self.dim} must be divisible by num_heads={self.num_heads}.')
    length = multiscale.sequence_length(self.scales)
    std = init_std(self.dim)
    normal = nn.initializers.truncated_normal(std)
    self.class_embed = nn.Embed(self.num_classes + 1, self.dim, embedding_init=normal)
    self.pos_start = self.param('pos_start', normal, (self.scales[0] ** 2, self.dim))
    self.word_embed = nn.Dense(self.dim, kernel_init=normal, dtype=self.dtype)
    self.positions = self.param('positions', normal, (length, self.dim))
    self.level_embed = nn.Embed(len(self.scales), self.dim, embedding_init=normal)
    block = remat_block(AdaLNSelfAttention, self.remat, static_argnums=(4,))  # train
    self.blocks = [block(self.dim, self.num_heads, self.mlp_ratio, depth=self.num_layers,
                         attn_l2_norm=self.attn_l2_norm, drop_path=rate, dtype=self.dtype)
                   for rate in drop_path_rates(self.drop_path, self.num_layers)]
    self.head_norm = AdaLNBeforeHead(self.dim, self.dtype)
    self.head = nn.Dense(self.num_codes, dtype=self.dtype,
                         kernel_init=nn.initializers.truncated_normal(HEAD_GAIN * std))

  @property
  def null_class(self) -> int:
    return self.num_classes

  def _condition(self, y, batch: int) -> jax.Array:
    """[B, dim]: the class (or null) embedding."""
    if y is None:
      y = jnp.full((batch,), self.null_class, jnp.int32)
    return self.class_embed(y)

  def _start(self, cond: jax.Array) -> jax.Array:
    """[B, p_1^2, dim]: the condition plus pos_start at every position of scale 1."""
    return cond[:, None, :] + self.pos_start[None]

  def _embed(self, h: jax.Array, first: int) -> jax.Array:
    """Adds the positions and scale embeddings of positions first..first+n-1."""
    n = h.shape[1]
    level = jnp.asarray(scale_of_position(self.scales)[first:first + n])
    return h + self.positions[first:first + n][None] + self.level_embed(level)[None]

  def __call__(self, inputs: jax.Array, y: jax.Array | None = None,
               train: bool = False) -> jax.Array:
    """Teacher-forcing inputs [B, L - p_1^2, D] and labels [B] (None: the null class) ->
    logits [B, L, K] of every token. train=True drops paths (rng stream 'dropout')."""
    cond = self._condition(y, inputs.shape[0])
    h = jnp.concatenate([self._start(cond), self.word_embed(inputs)], axis=1)
    h = self._embed(h, 0)
    mask = jnp.asarray(block_causal_mask(self.scales))
    for block in self.blocks:
      h = block(h, cond, mask, train)
    return self.head(self.head_norm(h, cond)).astype(jnp.float32)

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
    cond = self._condition(y, batch_size)
    h = self._start(cond) if k == 0 else self.word_embed(inputs)
    h = self._embed(h, first)
    ks, vs = [], []
    for i, block in enumerate(self.blocks):
      h, ck, cv = block.step(h, cond, state['k'][i], state['v'][i], first)
      ks.append(ck)
      vs.append(cv)
    return self.head(self.head_norm(h, cond)).astype(jnp.float32), {'k': ks, 'v': vs}
