"""VAR's transformer block and head norm (Tian et al., 2024; the official
`models/basic_var.py`, `AdaLNSelfAttn` and `AdaLNBeforeHead`, as `build_vae_var` makes them).

A pre-norm block whose LayerNorms have no parameters of their own: the condition (the class
embedding) sets them. SiLU(cond) -> one linear map per block -> six vectors (gamma1, gamma2,
scale1, scale2, shift1, shift2), and

  h <- h + gamma1 * attn(LN(h) * (1 + scale1) + shift1)
  h <- h + gamma2 * mlp(LN(h) * (1 + scale2) + shift2)

(AdaLN, not the shared variant `shared_aln`). The attention's qkv map has no bias but its
own q and v biases (k's is zero); with `attn_l2_norm` (VAR's default) q and k are
L2-normalised per head and the logits scaled by a learned per-head exp(s), s <= log 100,
starting at 4; without it the logits are scaled by 0.25 / sqrt(head_dim). The MLP is
4x wide with tanh-approximated GELU. Stochastic depth (`drop_path`) drops a sample's
residual branch with the block's rate.

Initialisation is VAR's `init_weights`: every linear map and embedding from a truncated
normal of std sqrt(1 / (3 C)), biases zero; the output maps of attention and MLP divided
by sqrt(2 depth); the AdaLN maps' gamma columns times 1e-5 and the others times 0.5, so
each block starts near the identity.

`dtype` 'bfloat16' computes the linear maps and the attention products in bfloat16; the
residual stream h, LayerNorm's statistics, the L2 normalisation of q and k and the
attention softmax stay float32.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
from flax import linen as nn

MAX_LOG_SCALE = math.log(100.0)
ADALN_GAIN, ADALN_GAMMA_GAIN = 0.5, 1e-5  # VAR's init_adaln, init_adaln_gamma


def init_std(dim: int) -> float:
  """VAR's automatic init_std for width C."""
  return math.sqrt(1.0 / (3.0 * dim))


def adaln_init(std: float, gamma_columns: int, gamma_gain: float = ADALN_GAMMA_GAIN):
  """A truncated normal kernel [cond, n C] with its first `gamma_columns` columns (the
  residual gates) times gamma_gain and the rest times ADALN_GAIN."""
  def init(key, shape, dtype=jnp.float32):
    kernel = nn.initializers.truncated_normal(std)(key, shape, dtype)
    gain = jnp.where(jnp.arange(shape[-1]) < gamma_columns, gamma_gain, ADALN_GAIN)
    return kernel * gain.astype(dtype)
  return init


def layer_norm(dtype: str = 'float32') -> nn.LayerNorm:
  return nn.LayerNorm(epsilon=1e-6, use_bias=False, use_scale=False, dtype=dtype)


def attend(q, k, v, mask, scale: float):
  """Softmax attention; q [B, Nq, H, d], k/v [B, Nk, H, d], mask broadcast to [B, H, Nq, Nk].
  The softmax is float32 whatever the inputs' dtype."""
  scores = jnp.einsum('bqhd,bkhd->bhqk', q, k).astype(jnp.float32) * scale
  scores = jnp.where(mask, scores, jnp.finfo(scores.dtype).min)
  weights = jax.nn.softmax(scores, axis=-1).astype(v.dtype)
  return jnp.einsum('bhqk,bkhd->bqhd', weights, v)


def _l2_normalize(x):
  return x / jnp.maximum(jnp.linalg.norm(x, axis=-1, keepdims=True), 1e-12)


class AdaLNSelfAttention(nn.Module):
  """One VAR block: h [B, N, C] and cond [B, C] -> h [B, N, C]."""
  dim: int
  num_heads: int
  mlp_ratio: int = 4
  depth: int = 1  # blocks in the stack (the output maps' init)
  attn_l2_norm: bool = True
  drop_path: float = 0.0
  dtype: str = 'float32'  # the linear maps' and attention products'; h stays float32

  def setup(self):
    c, dtype = self.dim, self.dtype
    std = init_std(c)
    normal = nn.initializers.truncated_normal(std)
    deep = nn.initializers.truncated_normal(std / math.sqrt(2 * self.depth))
    self.qkv = nn.Dense(3 * c, use_bias=False, kernel_init=normal, dtype=dtype)
    self.q_bias = self.param('q_bias', nn.initializers.zeros_init(), (c,))
    self.v_bias = self.param('v_bias', nn.initializers.zeros_init(), (c,))
    if self.attn_l2_norm:
      self.log_scale = self.param('log_scale', nn.initializers.constant(math.log(4.0)),
                                  (self.num_heads,))
    self.proj = nn.Dense(c, kernel_init=deep, dtype=dtype)
    self.fc1 = nn.Dense(self.mlp_ratio * c, kernel_init=normal, dtype=dtype)
    self.fc2 = nn.Dense(c, kernel_init=deep, dtype=dtype)
    self.ada_lin = nn.Dense(6 * c, kernel_init=adaln_init(std, 2 * c), dtype=dtype)
    self.norm = layer_norm(dtype)

  def modulation(self, cond):
    """cond [B, C] -> six [B, 1, C]: gamma1, gamma2, scale1, scale2, shift1, shift2."""
    m = self.ada_lin(nn.silu(cond)).reshape(cond.shape[0], 6, 1, self.dim)
    return tuple(m[:, i] for i in range(6))

  def _heads(self, x):
    bias = jnp.concatenate([self.q_bias, jnp.zeros_like(self.q_bias), self.v_bias])
    heads = (self.num_heads, self.dim // self.num_heads)
    qkv = self.qkv(x)
    q, k, v = (t.reshape(t.shape[:-1] + heads)
               for t in jnp.split(qkv + bias.astype(qkv.dtype), 3, axis=-1))
    if self.attn_l2_norm:
      # Normalised in float32: the learned scale, up to 100, multiplies any rounding here.
      f32 = jnp.float32
      scale = jnp.exp(jnp.minimum(self.log_scale, MAX_LOG_SCALE))[:, None]
      q = (_l2_normalize(q.astype(f32)) * scale).astype(self.dtype)
      k = _l2_normalize(k.astype(f32)).astype(self.dtype)
    return q, k, v

  @property
  def _scale(self) -> float:
    return 1.0 if self.attn_l2_norm else 0.25 / math.sqrt(self.dim // self.num_heads)

  def _drop(self, branch, train: bool):
    if not train or self.drop_path == 0.0:
      return branch
    keep = jax.random.bernoulli(self.make_rng('dropout'), 1.0 - self.drop_path,
                                (branch.shape[0],) + (1,) * (branch.ndim - 1))
    return jnp.where(keep, branch / (1.0 - self.drop_path), 0.0)

  def _finish(self, h, attended, mods, train):
    gamma1, gamma2, _, scale2, _, shift2 = mods
    attended = attended.reshape(attended.shape[:-2] + (self.dim,))
    h = h + self._drop(self.proj(attended) * gamma1, train)
    x = self.norm(h) * (1.0 + scale2) + shift2
    return h + self._drop(self.fc2(nn.gelu(self.fc1(x), approximate=True)) * gamma2, train)

  def __call__(self, h, cond, mask, train: bool = False):
    """Position i attends to j where mask[i, j] ([N, N]; VAR's block-causal mask)."""
    mods = self.modulation(cond)
    q, k, v = self._heads(self.norm(h) * (1.0 + mods[2]) + mods[4])
    return self._finish(h, attend(q, k, v, mask[None, None], self._scale), mods, train)

  def step(self, h, cond, cache_k, cache_v, pos):
    """h [B, n, C] at positions pos..pos+n-1 (one whole scale); caches [B, N, heads,
    head_dim] hold the positions < pos. Returns (h, cache_k, cache_v)."""
    mods = self.modulation(cond)
    q, k, v = self._heads(self.norm(h) * (1.0 + mods[2]) + mods[4])
    cache_k = jax.lax.dynamic_update_slice(cache_k, k, (0, pos, 0, 0))
    cache_v = jax.lax.dynamic_update_slice(cache_v, v, (0, pos, 0, 0))
    visible = (jnp.arange(cache_k.shape[1]) < pos + h.shape[1])[None, None, None, :]
    out = attend(q, cache_k, cache_v, visible, self._scale)
    return self._finish(h, out, mods, False), cache_k, cache_v


class AdaLNBeforeHead(nn.Module):
  """The final norm: LN(h) * (1 + scale) + shift, both from SiLU(cond), in `dtype`."""
  dim: int
  dtype: str = 'float32'

  @nn.compact
  def __call__(self, h, cond):
    m = nn.Dense(2 * self.dim, kernel_init=adaln_init(init_std(self.dim), 0),
                 dtype=self.dtype, name='ada_lin')(nn.silu(cond))
    scale, shift = m[:, None, :self.dim], m[:, None, self.dim:]
    return layer_norm(self.dtype)(h) * (1.0 + scale) + shift
