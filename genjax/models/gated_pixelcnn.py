"""Gated PixelCNN (van den Oord et al., 2016, "Conditional Image Generation with PixelCNN
Decoders"): a vertical stack (all rows above) and a horizontal stack (the current row to
the left), so the receptive field has no blind spot; gated activations
tanh(W_f * x + V_f h) * sigmoid(W_g * x + V_g h), with h a class embedding for p(x | y).
Pixels enter as centred scalars; VQ-VAE codes, which are not ordinal, as a learned
embedding of width `channels`.

Causality by construction, with zero-padded convolutions over causal offsets only (TapConv):
- the vertical stack's (k//2+1) x k kernel covers rows r-k//2 .. r; its features reach the
  horizontal stack shifted down one row, so they only see rows above r;
- the horizontal stack's 1 x (k//2+1) kernel covers columns c-k//2 .. c of row r; in the
  first layer its input is shifted right one column, so pixel (r, c) itself is excluded.

Colour images (image_channels = 3; van den Oord et al., 2016a, sec. 3.4) split the
horizontal stack's channels into R, G and B groups (`colour_masks`; each half of a gate
alike): its centre tap is masked by group (type A in the first layer, which then reads
columns c-k//2-1 .. c unshifted; type B after), and so are its 1x1 layers and the head.
The vertical stack sees only rows above through the shift, and needs no mask. Under the
logistic mixture (Salimans et al., 2017) whole pixels are predicted from earlier ones: no
colour groups, the pixel's colours enter as C input features.

Cached decoding (Ramachandran et al., 2017) follows the same two paths. The vertical stack
at (r, c) reads row r to the right of c, which is not sampled yet at step (r, c); but only
row r+1 of the horizontal stack reads it. So each vertical layer is computed a whole row at
a time, at the first step of the next row (row r - 1 at step (r, 0), from cached rows of
its input), and kept until then; the horizontal stack is computed at pixel (r, c) alone,
from a cache of its inputs in the current row and the vertical row above. Per step that is
one pixel of the horizontal stack and, averaged over a row, one pixel of the vertical one.
In colour each pixel takes C steps, each computing the horizontal stack at it with the
colours drawn so far; the first step of the next pixel computes the finished one once more,
so that every group of the cached row holds its final values.

`dtype` 'bfloat16' computes both stacks in bfloat16 from the input features on; the
params and the logits are float32.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import linen as nn

from genjax.models import colour_masks, masked_conv, pixels


def shift_down(x: jax.Array) -> jax.Array:
  return jnp.pad(x, ((0, 0), (1, 0), (0, 0), (0, 0)))[:, :-1]


def shift_right(x: jax.Array) -> jax.Array:
  return jnp.pad(x, ((0, 0), (0, 0), (1, 0), (0, 0)))[:, :, :-1]


class VerticalConv(masked_conv.TapConvLayer):
  """Output row r sees input rows r-k//2 .. r, columns c-k//2 .. c+k//2."""
  kernel: int

  @property
  def taps(self):
    r = self.kernel // 2
    return tuple((dy, dx) for dy in range(-r, 1) for dx in range(-r, r + 1))


class HorizontalConv(masked_conv.TapConvLayer):
  """Output column c sees input columns c-k//2 .. c of the same row.

  In colour the first layer's reads columns c-k//2-1 .. c of its unshifted input, the
  centre under colour mask A; later layers' centre taps under mask B.
  """
  kernel: int
  first: bool = False
  colours: int = 1

  @property
  def taps(self):
    left = self.kernel // 2 + (self.first and self.colours > 1)
    return tuple((0, dx) for dx in range(-left, 1))

  @property
  def colour_masking(self) -> dict:
    return dict(colours=self.colours, centre_mask='A' if self.first else 'B', out_blocks=2)


def gate(x: jax.Array) -> jax.Array:
  f, g = jnp.split(x, 2, axis=-1)
  return jnp.tanh(f) * nn.sigmoid(g)


class GatedLayer(nn.Module):
  channels: int
  kernel: int
  first: bool = False
  conditional: bool = False
  colours: int = 1  # colour groups of the horizontal stack
  dtype: str = 'float32'  # the dense layers'; the convs compute in their inputs' dtype

  def setup(self):
    # Named as the compact form of this layer named them, so checkpoints keep loading.
    c, dtype = self.channels, self.dtype
    self.vertical = VerticalConv(2 * c, self.kernel, name='VerticalConv_0')
    self.horizontal = HorizontalConv(2 * c, self.kernel, self.first, self.colours,
                                     name='HorizontalConv_0')
    # Vertical features (rows above) and labels may reach every colour group: no masks.
    self.down = nn.Dense(2 * c, dtype=dtype, name='Dense_0')  # vertical into the row below
    if self.conditional:
      self.cond_v = nn.Dense(2 * c, dtype=dtype, name='Dense_1')
      self.cond_h = nn.Dense(2 * c, dtype=dtype, name='Dense_2')
    self.out = colour_masks.dense(c, self.colours, dtype=dtype,
                                  name='Dense_3' if self.conditional else 'Dense_1')

  @property
  def shifts_right(self) -> bool:
    """Whether the horizontal input is shifted right (the first layer, in grayscale)."""
    return self.first and self.colours == 1

  def _label_terms(self, cond, spatial_dims: int):
    """(vertical, horizontal) label terms [B, 1 x spatial_dims, 2c]; 0 when unconditional."""
    if cond is None:
      return 0.0, 0.0
    expand = lambda t: t.reshape(t.shape[:1] + (1,) * spatial_dims + t.shape[1:])
    return expand(self.cond_v(cond)), expand(self.cond_h(cond))

  def _residual(self, h, h_pre):
    """Gate and 1x1 of the horizontal pre-activation; residual after the first layer."""
    h_out = self.out(gate(h_pre))
    return h_out if self.first else h + h_out

  def __call__(self, v, h, cond):
    label_v, label_h = self._label_terms(cond, 2)
    v_pre = self.vertical(v)
    h_pre = self.horizontal(shift_right(h) if self.shifts_right else h) + self.down(
        shift_down(v_pre))
    return gate(v_pre + label_v), self._residual(h, h_pre + label_h)

  def vertical_row(self, v_in, r, width: int, cond):
    """Row r of the vertical stack [B, W, 2c] from its cached (padded) input `v_in`, as
    (pre-activation: what row r + 1 of the horizontal stack reads, gated output)."""
    label_v, _ = self._label_terms(cond, 1)
    v_pre = self.vertical.conv.at(v_in, r, 0, width)
    return v_pre, gate(v_pre + label_v)

  def horizontal_at(self, h_in, c, h, v_pre_above, cond):
    """The horizontal stack's output at column c [B, 1, ch] from its cached input row
    `h_in`, the layer input h there, and the vertical pre-activation one row up [B, 1, 2c]
    (zero above the image)."""
    _, label_h = self._label_terms(cond, 1)
    h_pre = self.horizontal.conv.at(h_in, 0, c) + self.down(v_pre_above)
    return self._residual(h, h_pre + label_h)


class GatedPixelCNN(nn.Module):
  likelihood: str = 'bernoulli'
  channels: int = 64
  num_layers: int = 8  # gated layers after the first
  first_kernel: int = 7
  kernel: int = 3
  output_hidden: int = 64
  num_classes: int = 0  # > 0: p(x | y) through a label embedding in every layer
  num_codes: int = 0  # K for likelihood='codes'
  image_channels: int = 1  # C: 1 (grayscale, codes) or 3 (RGB)
  num_mixtures: int = 0  # M for likelihood='logistic_mixture'
  dtype: str = 'float32'  # the layers' computation; params and logits float32

  @property
  def colours(self) -> int:
    """Colour groups the horizontal stack is masked by: C for per-sub-pixel heads, else 1."""
    return pixels.steps_per_pixel(self.likelihood, self.image_channels)

  def setup(self):
    width = pixels.head_width(self.likelihood, self.num_codes, self.image_channels,
                              self.num_mixtures)
    conditional, g, dtype = bool(self.num_classes), self.colours, self.dtype
    self.layers = [
        GatedLayer(self.channels, self.first_kernel, True, conditional, g, dtype)] + [
            GatedLayer(self.channels, self.kernel, False, conditional, g, dtype)
            for _ in range(self.num_layers)]
    self.out_hidden = colour_masks.dense(self.output_hidden, g, dtype=dtype)
    self.out_logits = colour_masks.dense(width, g, dtype=dtype)
    if self.num_classes:
      self.label_embed = nn.Embed(self.num_classes, self.channels, dtype=dtype)
    if self.likelihood == 'codes':
      self.code_embed = nn.Embed(self.num_codes, self.channels, dtype=dtype)

  @property
  def feature_width(self) -> int:
    return self.channels if self.likelihood == 'codes' else self.image_channels

  def features(self, x: jax.Array) -> jax.Array:
    """Canvas [..., C] -> per-pixel input features [..., feature_width]."""
    if self.likelihood == 'codes':
      return self.code_embed(pixels.to_tokens(x, self.likelihood, self.num_codes))
    return pixels.centred(x)

  def _label(self, y):
    if not self.num_classes:
      return None
    if y is None:
      raise ValueError('This Gated PixelCNN is class-conditional: pass labels y.')
    return self.label_embed(y)

  def _head(self, h: jax.Array) -> jax.Array:
    """Logits in float32: the log-likelihood is computed from them."""
    return self.out_logits(nn.relu(self.out_hidden(nn.relu(h)))).astype(jnp.float32)

  def logits_from_features(self, f: jax.Array, y: jax.Array | None = None) -> jax.Array:
    cond = self._label(y)
    v = h = f.astype(self.dtype)
    for layer in self.layers:
      v, h = layer(v, h, cond)
    return self._head(h)

  def __call__(self, x: jax.Array, y: jax.Array | None = None) -> jax.Array:
    return self.logits_from_features(self.features(x), y)

  def decode_init(self, batch_size: int, image_shape: tuple[int, ...]):
    """Zero caches, per layer: the vertical conv's input (pixel features for the first
    layer), the vertical pre-activation of the row above, the horizontal conv's input row."""
    hw = tuple(image_shape[:2])
    inputs = [self.feature_width] + [self.channels] * self.num_layers
    return {
        'v_in': [layer.vertical.conv.empty_input(batch_size, hw, ch)
                 for layer, ch in zip(self.layers, inputs)],
        'v_above': [jnp.zeros((batch_size, hw[1], 2 * self.channels)) for _ in self.layers],
        'h_in': [layer.horizontal.conv.empty_input(batch_size, (1, hw[1]), ch)
                 for layer, ch in zip(self.layers, inputs)],
    }

  def _vertical_rows(self, state, r, cond):
    """Every layer's vertical stack at row r, into the caches; row r must be sampled."""
    width = state['v_above'][0].shape[1]
    v_in, above = list(state['v_in']), []
    for i, layer in enumerate(self.layers):
      v_pre, v_out = layer.vertical_row(v_in[i], r, width, cond)
      above.append(v_pre)
      if i + 1 < len(self.layers):
        v_in[i + 1] = self.layers[i + 1].vertical.conv.store(v_in[i + 1], v_out, r, 0)
    return dict(state, v_in=v_in, v_above=above)

  def _horizontal_pass(self, state, c, first_input, cond):
    """(the last layer's output [B, 1, ch], state): every layer's horizontal stack at
    column c of the current row, the first layer reading `first_input` [B, 1, F] there."""
    h_in = list(state['h_in'])
    h = None
    for i, layer in enumerate(self.layers):
      h_in[i] = layer.horizontal.conv.store(h_in[i], first_input if i == 0 else h, 0, c)
      above = jax.lax.dynamic_slice_in_dim(state['v_above'][i], c, 1, axis=1)
      h = layer.horizontal_at(h_in[i], c, h, above, cond)
    return h, dict(state, h_in=h_in)

  def decode_step(self, state, canvas: jax.Array, pos: jax.Array, y: jax.Array | None = None):
    """Logits [B, L] at sampling step `pos`, computed at its pixel only (and, at the start
    of a row, the vertical stack on the row above).

    One step a pixel (grayscale, codes, the mixture's whole pixels): reads pixel pos - 1 of
    `canvas` into the caches. In colour, step pos is colour pos % C of pixel pos // C, read
    from that pixel's colours drawn so far. Everything else comes from `state`.
    """
    g = self.colours
    p, k = pos // g, pos % g
    w = canvas.shape[2]
    r, c = p // w, p % w
    cond = self._label(y)
    pr, pc, prev = masked_conv.pixel_features(canvas, p - 1, self.features)
    v_in = list(state['v_in'])
    v_in[0] = self.layers[0].vertical.conv.store(v_in[0], prev, pr, pc)
    state = nn.cond(jnp.logical_and(jnp.logical_and(c == 0, r > 0), k == 0),
                    GatedPixelCNN._vertical_rows, lambda mdl, state, r, cond: state, self,
                    dict(state, v_in=v_in), r - 1, cond)
    if g == 1:
      # The first layer's horizontal input is shifted right: pixel (r, c - 1), zero at c = 0.
      h, state = self._horizontal_pass(state, c, jnp.where(c > 0, prev, 0.0), cond)
      return self._head(h)[:, 0], state
    # The finished previous pixel of this row, once, so the cached row holds its values.
    state = nn.cond(jnp.logical_and(k == 0, c > 0),
                    lambda mdl, state: mdl._horizontal_pass(state, c - 1, prev, cond)[1],
                    lambda mdl, state: state, self, state)
    h, state = self._horizontal_pass(state, c, masked_conv.pixel_features(
        canvas, p, self.features)[2], cond)
    out = self._head(h)[:, 0]
    return out.reshape(out.shape[0], g, -1)[:, k], state
