"""An LSTM over the raster pixel sequence (cf. the Row/Diagonal LSTMs of van den Oord et
al., 2016; here the plain one-dimensional version).

Pixel (or VQ-VAE code) tokens are embedded and shifted right behind a learned start
vector, so the state that predicts pixel i has read pixels < i only; stacked LSTM layers
(Hochreiter & Schmidhuber, 1997, with forget gates) run by `lax.scan`; a dense head gives
the logits.
The input-to-gate projections of a whole sequence are computed in parallel; only the
recurrence h_{t-1} @ U is sequential. `decode_step` advances every layer one position.

A colour image is the raster sequence of its sub-pixels, R, G, B within each pixel (van den
Oord et al., 2016, PixelRNN sec. 3.4): H * W * C positions, each input carrying a learned
embedding of the colour it predicts (a recurrence has no positions to tell it), and the
logits of colour k of a pixel at [k * L, (k + 1) * L) of its outputs.

`dtype` 'bfloat16' computes the input, recurrent and head matmuls in bfloat16; the state
(h, c) and the gates stay float32, since the cell state carries its sum over the whole
sequence, and so do the logits.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import linen as nn

from genjax.models import pixels


def lstm_cell(gates_x: jax.Array, carry, recurrent: jax.Array, dtype: str = 'float32'):
  """One step: gates_x = W x_t + b [B, 4H]; carry = (h, c); returns the new (h, c).
  `dtype` is the product h @ recurrent's; the gates and the new (h, c) are float32."""
  h, c = carry
  gates = gates_x.astype(jnp.float32) + (h.astype(dtype) @ recurrent.astype(dtype)).astype(
      jnp.float32)
  i, f, g, o = jnp.split(gates, 4, axis=-1)
  c = nn.sigmoid(f) * c + nn.sigmoid(i) * jnp.tanh(g)
  h = nn.sigmoid(o) * jnp.tanh(c)
  return h, c


class PixelLSTM(nn.Module):
  likelihood: str = 'bernoulli'
  hidden: int = 128
  num_layers: int = 1
  embed_dim: int = 32
  num_classes: int = 0
  num_codes: int = 0  # K for likelihood='codes'
  image_channels: int = 1  # C: sub-pixels per pixel
  dtype: str = 'float32'  # the matmuls'; the state and the logits are float32

  def setup(self):
    if self.likelihood == pixels.MIXTURE:
      raise ValueError("The LSTM models sub-pixels one token at a time; the logistic "
                       "mixture over whole pixels is for pixelcnn or gated_pixelcnn.")
    pixels.head_width(self.likelihood, self.num_codes, self.image_channels)  # checks the pair
    self.token_embed = nn.Embed(pixels.num_levels(self.likelihood, self.num_codes),
                                self.embed_dim)
    self.start = self.param('start', nn.initializers.normal(0.1), (self.embed_dim,))
    # Forget-gate bias 1 (Jozefowicz et al., 2015).
    bias_init = lambda key, shape, dtype=jnp.float32: jnp.zeros(shape, dtype).at[
        self.hidden:2 * self.hidden].set(1.0)
    self.input_proj = [nn.Dense(4 * self.hidden, bias_init=bias_init, dtype=self.dtype)
                       for _ in range(self.num_layers)]
    self.recurrent = [self.param(f'recurrent_{i}', nn.initializers.orthogonal(),
                                 (self.hidden, 4 * self.hidden))
                      for i in range(self.num_layers)]
    self.head = nn.Dense(pixels.num_outputs(self.likelihood, self.num_codes), dtype=self.dtype)
    if self.num_classes:
      self.label_embed = nn.Embed(self.num_classes, self.embed_dim)
    if self.image_channels > 1:
      self.colour_embed = self.param('colour_embed', nn.initializers.normal(0.1),
                                     (self.image_channels, self.embed_dim))

  def _label(self, y):
    if not self.num_classes:
      return 0.0
    if y is None:
      raise ValueError('This LSTM is class-conditional: pass labels y.')
    return self.label_embed(y)

  def _colour(self, pos: jax.Array):
    """The embedding of the colour predicted at sequence positions `pos`; 0 in grayscale."""
    return self.colour_embed[pos % self.image_channels] if self.image_channels > 1 else 0.0

  def features(self, x: jax.Array) -> jax.Array:
    """Per-pixel token embeddings [B, H, W, C * E], colour k's at [k * E, (k + 1) * E)
    (not yet shifted)."""
    tokens = pixels.to_tokens(x[..., None], self.likelihood, self.num_codes)  # [B, H, W, C]
    return self.token_embed(tokens).reshape(x.shape[:3] + (-1,))

  def logits_from_features(self, f: jax.Array, y: jax.Array | None = None) -> jax.Array:
    b, hh, ww = f.shape[:3]
    e = self.embed_dim
    seq = f.reshape(b, -1, e)  # sub-pixels in raster order, colours innermost
    start = jnp.broadcast_to(self.start, (b, 1, e))
    h = jnp.concatenate([start, seq[:, :-1]], axis=1)
    h = h + (self._label(y)[:, None, :] if self.num_classes else 0.0)
    h = h + self._colour(jnp.arange(seq.shape[1]))
    zeros = jnp.zeros((b, self.hidden), jnp.float32)
    for proj, recurrent in zip(self.input_proj, self.recurrent):
      gates = jnp.swapaxes(proj(h), 0, 1)  # [N, B, 4H]

      def body(carry, g, recurrent=recurrent):
        carry = lstm_cell(g, carry, recurrent, self.dtype)
        return carry, carry[0]

      _, outs = jax.lax.scan(body, (zeros, zeros), gates)
      h = jnp.swapaxes(outs, 0, 1)
    return self.head(h).astype(jnp.float32).reshape(b, hh, ww, -1)

  def __call__(self, x: jax.Array, y: jax.Array | None = None) -> jax.Array:
    return self.logits_from_features(self.features(x), y)

  def decode_init(self, batch_size: int, image_shape: tuple[int, ...]):
    del image_shape  # the state does not depend on it
    zeros = jnp.zeros((self.num_layers, batch_size, self.hidden))
    return {'h': zeros, 'c': zeros}

  def decode_step(self, state, canvas: jax.Array, pos: jax.Array, y: jax.Array | None = None):
    """Logits [B, L] at sub-pixel `pos` of the raster sequence: reads only sub-pixel pos-1
    of `canvas`."""
    prev = jnp.maximum(pos - 1, 0)
    value = canvas.reshape(canvas.shape[0], -1)[:, prev]  # [B]
    emb = self.token_embed(pixels.to_tokens(value[:, None], self.likelihood, self.num_codes))
    inp = jnp.where(pos == 0, jnp.broadcast_to(self.start, emb.shape), emb) + self._label(y)
    inp = inp + self._colour(pos)
    hs, cs = [], []
    for i, (proj, recurrent) in enumerate(zip(self.input_proj, self.recurrent)):
      h, c = lstm_cell(proj(inp), (state['h'][i], state['c'][i]), recurrent)
      hs.append(h)
      cs.append(c)
      inp = h
    return self.head(inp), {'h': jnp.stack(hs), 'c': jnp.stack(cs)}
