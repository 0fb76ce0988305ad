"""Gated PixelCNN (van den Oord et al., 2016, "Conditional Image Generation with PixelCNN
Decoders"): a vertical stack (all rows above) and a horizontal stack (the current row to
the left), so the receptive field has no blind spot; gated activations
tanh(W_f * x + V_f h) * sigmoid(W_g * x + V_g h), with h a class embedding for p(x | y).

Causality by construction, with zero-padded convolutions over causal offsets only (TapConv):
- the vertical stack's (k//2+1) x k kernel covers rows r-k//2 .. r; its features reach the
  horizontal stack shifted down one row, so they only see rows above r;
- the horizontal stack's 1 x (k//2+1) kernel covers columns c-k//2 .. c of row r; in the
  first layer its input is shifted right one column, so pixel (r, c) itself is excluded.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import linen as nn

from genjax.models import masked_conv, pixels


def shift_down(x: jax.Array) -> jax.Array:
  return jnp.pad(x, ((0, 0), (1, 0), (0, 0), (0, 0)))[:, :-1]


def shift_right(x: jax.Array) -> jax.Array:
  return jnp.pad(x, ((0, 0), (0, 0), (1, 0), (0, 0)))[:, :, :-1]


class VerticalConv(nn.Module):
  """Output row r sees input rows r-k//2 .. r, columns c-k//2 .. c+k//2."""
  features: int
  kernel: int

  @nn.compact
  def __call__(self, x):
    r = self.kernel // 2
    taps = tuple((dy, dx) for dy in range(-r, 1) for dx in range(-r, r + 1))
    return masked_conv.TapConv(self.features, taps)(x)


class HorizontalConv(nn.Module):
  """Output column c sees input columns c-k//2 .. c of the same row."""
  features: int
  kernel: int

  @nn.compact
  def __call__(self, x):
    r = self.kernel // 2
    return masked_conv.TapConv(self.features, tuple((0, dx) for dx in range(-r, 1)))(x)


def gate(x: jax.Array) -> jax.Array:
  f, g = jnp.split(x, 2, axis=-1)
  return jnp.tanh(f) * nn.sigmoid(g)


class GatedLayer(nn.Module):
  channels: int
  kernel: int
  first: bool = False

  @nn.compact
  def __call__(self, v, h, cond):
    c = self.channels
    v_pre = VerticalConv(2 * c, self.kernel)(v)
    h_pre = HorizontalConv(2 * c, self.kernel)(shift_right(h) if self.first else h)
    h_pre = h_pre + nn.Dense(2 * c)(shift_down(v_pre))
    if cond is not None:
      v_pre = v_pre + nn.Dense(2 * c)(cond)[:, None, None, :]
      h_pre = h_pre + nn.Dense(2 * c)(cond)[:, None, None, :]
    v_out = gate(v_pre)
    h_out = nn.Dense(c)(gate(h_pre))
    return v_out, (h_out if self.first else h + h_out)


class GatedPixelCNN(masked_conv.WindowSampling, nn.Module):
  likelihood: str = 'bernoulli'
  channels: int = 64
  num_layers: int = 8  # gated layers after the first
  first_kernel: int = 7
  kernel: int = 3
  output_hidden: int = 64
  num_classes: int = 0  # > 0: p(x | y) through a label embedding in every layer

  def setup(self):
    pixels.check_likelihood(self.likelihood)
    self.layers = [GatedLayer(self.channels, self.first_kernel, first=True)] + [
        GatedLayer(self.channels, self.kernel) for _ in range(self.num_layers)]
    self.out_hidden = nn.Dense(self.output_hidden)
    self.out_logits = nn.Dense(pixels.num_outputs(self.likelihood))
    if self.num_classes:
      self.label_embed = nn.Embed(self.num_classes, self.channels)

  @property
  def extent(self) -> tuple[int, int, int]:
    """(up, left, right) reach of one output pixel's receptive field."""
    reach = self.first_kernel // 2 + self.num_layers * (self.kernel // 2)
    return reach + 1, reach + 1, reach

  def features(self, x: jax.Array) -> jax.Array:
    return pixels.centred(x)

  def logits_from_features(self, f: jax.Array, y: jax.Array | None = None) -> jax.Array:
    cond = None
    if self.num_classes:
      if y is None:
        raise ValueError('This Gated PixelCNN is class-conditional: pass labels y.')
      cond = self.label_embed(y)
    v, h = f, f
    for layer in self.layers:
      v, h = layer(v, h, cond)
    return self.out_logits(nn.relu(self.out_hidden(nn.relu(h))))
