"""A bidirectional Transformer over a flattened code grid with a [MASK] token (MaskGIT;
Chang et al., 2022).

Each of the N positions holds one of K codes or the mask token K (so K + 1 embeddings);
learned positions and, for a class-conditional model, a class embedding are added at every
position, and the pre-LayerNorm blocks of `genjax.models.transformer` attend over all
positions (an all-true attention mask instead of their causal one). The head gives K
logits at every position: the mask token is never predicted. Class C (= num_classes) is
the null class, which stands for "no label" in classifier-free guidance.

`dtype` 'bfloat16' computes the blocks' and the head's matmuls in bfloat16; the residual
stream, LayerNorm's statistics, the attention softmax and the logits stay float32.
`remat` recomputes each block in the backward pass (`genjax.models.remat`).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import linen as nn

from genjax.models.remat import remat_block
from genjax.models.transformer import Block


class BidirectionalTransformer(nn.Module):
  num_tokens: int  # N: the flattened code grid's length
  num_codes: int  # K; the mask token is K
  dim: int = 128
  num_heads: int = 4
  num_layers: int = 4
  mlp_ratio: int = 4
  num_classes: int = 0  # 0: unconditional; else classes 0..C-1 and the null class C
  dtype: str = 'float32'  # the blocks' and the head's matmuls; the logits are float32
  remat: str = 'none'  # `genjax.models.remat.REMAT`: recompute blocks in the backward pass

  @property
  def mask_token(self) -> int:
    return self.num_codes

  @property
  def null_class(self) -> int:
    return self.num_classes

  def setup(self):
    if self.dim % self.num_heads:
      raise ValueError(f'dim={self.dim} must be divisible by num_heads={self.num_heads}.')
    self.token_embed = nn.Embed(self.num_codes + 1, self.dim)
    self.positions = self.param('positions', nn.initializers.normal(0.02),
                                (self.num_tokens, self.dim))
    if self.num_classes:
      self.label_embed = nn.Embed(self.num_classes + 1, self.dim)
    block = remat_block(Block, self.remat)
    self.blocks = [block(self.dim, self.num_heads, self.mlp_ratio, self.dtype)
                   for _ in range(self.num_layers)]
    self.ln_f = nn.LayerNorm(dtype=self.dtype)
    self.head = nn.Dense(self.num_codes, dtype=self.dtype)

  def __call__(self, tokens: jax.Array, y: jax.Array | None = None) -> jax.Array:
    """tokens int [B, N] in 0..K (K: masked), labels y [B] (None: the null class) ->
    logits [B, N, K] float32 of every position's code."""
    h = self.token_embed(tokens) + self.positions[None]
    if self.num_classes:
      if y is None:
        y = jnp.full(tokens.shape[:1], self.null_class, jnp.int32)
      h = h + self.label_embed(y)[:, None, :]
    everywhere = jnp.ones((tokens.shape[1], tokens.shape[1]), bool)
    for block in self.blocks:
      h = block(h, everywhere)
    return self.head(self.ln_f(h)).astype(jnp.float32)
