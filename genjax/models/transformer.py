"""A causal Transformer over the raster pixel sequence (image-GPT style; Chen et al., 2020).

Pixel tokens are embedded, shifted right one place behind a learned start token, given
learned or fixed sinusoidal positions, and passed through pre-LayerNorm blocks of causal
multi-head self-attention and an MLP; the head emits one Bernoulli logit or 256 softmax
logits per pixel, or K for a grid of VQ-VAE codes (likelihood='codes', K = num_codes). A
class label, if any, is embedded and added at every position.

A colour image is the raster sequence of its sub-pixels, R, G, B within each pixel (van den
Oord et al., 2016, PixelRNN sec. 3.4): H * W * C positions, each with its own learned
position (and, in colour, a learned embedding of the colour it predicts, which fixed
sinusoids would otherwise leave implicit), and the logits of colour k of a pixel
reshaped to [k * L, (k + 1) * L) of its outputs.

`decode_step` runs one position against a key/value cache [B, N, heads, head_dim] per
layer, so sampling costs O(N) attention per position instead of a full O(N^2) pass. The
caches are separate arrays, not one stacked array, so that each step writes its keys and
values in place instead of copying every layer's whole cache.

`dtype` 'bfloat16' computes the blocks' and the head's matmuls in bfloat16; the residual
stream between them, LayerNorm's statistics, the attention softmax and the logits stay
float32. `remat` recomputes each block in the backward pass (`genjax.models.remat`).
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
from flax import linen as nn

from genjax.models import pixels
from genjax.models.remat import remat_block


def sinusoidal_positions(num: int, dim: int) -> np.ndarray:
  """Vaswani et al. (2017): sin/cos at geometric frequencies, [num, dim]."""
  pos = np.arange(num)[:, None]
  freq = np.exp(-math.log(10000.0) * np.arange(0, dim, 2) / dim)
  table = np.zeros((num, dim), np.float32)
  table[:, 0::2] = np.sin(pos * freq)
  table[:, 1::2] = np.cos(pos * freq)[:, :dim // 2]
  return table


class Block(nn.Module):
  dim: int
  num_heads: int
  mlp_ratio: int = 4
  dtype: str = 'float32'  # the matmuls'; the residual stream h keeps its own (float32)

  def setup(self):
    self.ln1 = nn.LayerNorm(dtype=self.dtype)
    self.qkv = nn.Dense(3 * self.dim, dtype=self.dtype)
    self.proj = nn.Dense(self.dim, dtype=self.dtype)
    self.ln2 = nn.LayerNorm(dtype=self.dtype)
    self.mlp_in = nn.Dense(self.mlp_ratio * self.dim, dtype=self.dtype)
    self.mlp_out = nn.Dense(self.dim, dtype=self.dtype)

  def _heads(self, h):
    q, k, v = jnp.split(self.qkv(self.ln1(h)), 3, axis=-1)
    split = lambda t: t.reshape(t.shape[:-1] + (self.num_heads, self.dim // self.num_heads))
    return split(q), split(k), split(v)

  def _finish(self, h, attended):
    h = h + self.proj(attended.reshape(attended.shape[:-2] + (self.dim,)))
    return h + self.mlp_out(nn.gelu(self.mlp_in(self.ln2(h))))

  def __call__(self, h, mask=None):
    """h [B, N, D] -> [B, N, D]: position i attends to positions j <= i, or, given a mask
    [N, N], to those where mask[i, j] (VAR's block-causal mask)."""
    q, k, v = self._heads(h)
    if mask is None:
      n = h.shape[1]
      mask = jnp.tril(jnp.ones((n, n), bool))
    return self._finish(h, _attend(q, k, v, mask[None, None]))

  def step(self, h, cache_k, cache_v, pos):
    """h [B, n, D] at positions pos..pos+n-1; caches [B, N, heads, head_dim] hold the
    positions < pos. The n new positions see every cached one and each other: n = 1 is
    one raster position, n = p^2 one whole VAR scale."""
    q, k, v = self._heads(h)
    cache_k = jax.lax.dynamic_update_slice(cache_k, k, (0, pos, 0, 0))
    cache_v = jax.lax.dynamic_update_slice(cache_v, v, (0, pos, 0, 0))
    visible = (jnp.arange(cache_k.shape[1]) < pos + h.shape[1])[None, None, None, :]
    return self._finish(h, _attend(q, cache_k, cache_v, visible)), cache_k, cache_v


def _attend(q, k, v, mask):
  """Softmax attention; q [B, Nq, H, d], k/v [B, Nk, H, d], mask broadcast to [B, H, Nq, Nk].
  The softmax is float32 whatever the inputs' dtype: summed in bfloat16 over a long row,
  its normaliser would lose the small weights."""
  scores = jnp.einsum('bqhd,bkhd->bhqk', q, k).astype(jnp.float32) / math.sqrt(q.shape[-1])
  scores = jnp.where(mask, scores, jnp.finfo(scores.dtype).min)
  weights = jax.nn.softmax(scores, axis=-1).astype(v.dtype)
  return jnp.einsum('bhqk,bkhd->bqhd', weights, v)


class PixelTransformer(nn.Module):
  image_shape: tuple[int, ...] = (28, 28, 1)
  likelihood: str = 'bernoulli'
  dim: int = 128
  num_heads: int = 4
  num_layers: int = 4
  mlp_ratio: int = 4
  positions: str = 'learned'  # 'learned' | 'sinusoidal'
  num_classes: int = 0
  num_codes: int = 0  # K for likelihood='codes'
  dtype: str = 'float32'  # the blocks' and the head's matmuls; the logits are float32
  remat: str = 'none'  # `genjax.models.remat.REMAT`: recompute blocks in the backward pass

  @property
  def colours(self) -> int:
    return self.image_shape[2] if len(self.image_shape) > 2 else 1

  def setup(self):
    if self.likelihood == pixels.MIXTURE:
      raise ValueError("The Transformer models sub-pixels one token at a time; the logistic "
                       "mixture over whole pixels is for pixelcnn or gated_pixelcnn.")
    pixels.head_width(self.likelihood, self.num_codes, self.colours)  # checks the pair
    if self.dim % self.num_heads:
      raise ValueError(f'dim={self.dim} must be divisible by num_heads={self.num_heads}.')
    n = self.image_shape[0] * self.image_shape[1] * self.colours
    self.token_embed = nn.Embed(pixels.num_levels(self.likelihood, self.num_codes), self.dim)
    self.start = self.param('start', nn.initializers.normal(0.02), (self.dim,))
    if self.positions == 'learned':
      self.pos_table = self.param('positions', nn.initializers.normal(0.02), (n, self.dim))
    elif self.positions == 'sinusoidal':
      self.pos_table = jnp.asarray(sinusoidal_positions(n, self.dim))
    else:
      raise ValueError(f"positions must be 'learned' or 'sinusoidal', got {self.positions!r}.")
    block = remat_block(Block, self.remat)
    self.blocks = [block(self.dim, self.num_heads, self.mlp_ratio, self.dtype)
                   for _ in range(self.num_layers)]
    self.ln_f = nn.LayerNorm(dtype=self.dtype)
    self.head = nn.Dense(pixels.num_outputs(self.likelihood, self.num_codes), dtype=self.dtype)
    if self.num_classes:
      self.label_embed = nn.Embed(self.num_classes, self.dim)
    if self.colours > 1:
      self.colour_embed = self.param('colour_embed', nn.initializers.normal(0.02),
                                     (self.colours, self.dim))

  def _inputs(self, h, y, pos0: int | jax.Array = 0):
    """Positions pos0 .. pos0 + n - 1 of the shifted sequence h [B, n, D], with their
    positions, the colour each predicts, and the label added."""
    n = h.shape[1]
    h = h + jax.lax.dynamic_slice_in_dim(self.pos_table, pos0, n)[None]
    if self.colours > 1:
      h = h + self.colour_embed[(pos0 + jnp.arange(n)) % self.colours][None]
    return h + self._label(y)

  def _label(self, y):
    if not self.num_classes:
      return 0.0
    if y is None:
      raise ValueError('This Transformer is class-conditional: pass labels y.')
    return self.label_embed(y)[:, None, :]

  def features(self, x: jax.Array) -> jax.Array:
    """Per-pixel token embeddings [B, H, W, C * D], colour k's at [k * D, (k + 1) * D)
    (not yet shifted)."""
    tokens = pixels.to_tokens(x[..., None], self.likelihood, self.num_codes)  # [B, H, W, C]
    return self.token_embed(tokens).reshape(x.shape[:3] + (-1,))

  def logits_from_features(self, f: jax.Array, y: jax.Array | None = None) -> jax.Array:
    b, hh, ww = f.shape[:3]
    seq = f.reshape(b, -1, self.dim)  # sub-pixels in raster order, colours innermost
    start = jnp.broadcast_to(self.start, (b, 1, self.dim))
    h = self._inputs(jnp.concatenate([start, seq[:, :-1]], axis=1), y)
    for block in self.blocks:
      h = block(h)
    return self.head(self.ln_f(h)).astype(jnp.float32).reshape(b, hh, ww, -1)

  def __call__(self, x: jax.Array, y: jax.Array | None = None) -> jax.Array:
    return self.logits_from_features(self.features(x), y)

  def decode_init(self, batch_size: int, image_shape: tuple[int, ...]):
    if tuple(image_shape[:2]) != tuple(self.image_shape[:2]) or (
        (tuple(image_shape) + (1,))[2] != self.colours):
      raise ValueError(f'This Transformer models {self.image_shape} images, not {image_shape}.')
    n = self.image_shape[0] * self.image_shape[1] * self.colours
    shape = (batch_size, n, self.num_heads, self.dim // self.num_heads)
    return {'k': [jnp.zeros(shape) for _ in self.blocks],
            'v': [jnp.zeros(shape) for _ in self.blocks]}

  def decode_step(self, state, canvas: jax.Array, pos: jax.Array, y: jax.Array | None = None):
    """Logits [B, L] at sub-pixel `pos` of the raster sequence: reads only sub-pixel pos-1
    of `canvas`."""
    prev = jnp.maximum(pos - 1, 0)
    value = canvas.reshape(canvas.shape[0], -1)[:, prev]  # [B]
    emb = self.token_embed(pixels.to_tokens(value[:, None], self.likelihood, self.num_codes))
    h = jnp.where(pos == 0, jnp.broadcast_to(self.start, emb.shape), emb)[:, None, :]
    h = self._inputs(h, y, pos)
    ks, vs = [], []
    for i, block in enumerate(self.blocks):
      h, k, v = block.step(h, state['k'][i], state['v'][i], pos)
      ks.append(k)
      vs.append(v)
    logits = self.head(self.ln_f(h))[:, 0]
    return logits, {'k': ks, 'v': vs}
