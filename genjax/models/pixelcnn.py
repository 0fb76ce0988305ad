"""PixelCNN (van den Oord et al., 2016, "Pixel Recurrent Neural Networks", sec. 3.5).

A 7x7 type-A masked convolution, residual blocks (1x1 -> masked 3x3 type B -> 1x1, with
2h/h/2h channels as in the paper's Figure 5), then two 1x1 layers to per-pixel logits: one
Bernoulli logit for binary images, a 256-way softmax for 8-bit grayscale or a K-way one for
VQ-VAE codes. Pixels enter as centred scalars; codes, which are not ordinal, as a learned
embedding of width h. Stacked masked convolutions leave a blind spot above-right of each
pixel (see gated_pixelcnn.py).

Colour images (image_channels = 3) use the colour masks of PixelRNN sec. 3.4
(`colour_masks`): every layer's channels split into R, G and B groups, the centre tap of
each masked conv and every 1x1 layer masked by group, so that colour k's 256 logits at a
pixel see that pixel's colours < k only. Under the logistic mixture (PixelCNN++; Salimans
et al., 2017) a whole pixel is predicted at once from earlier pixels, so the masks stay
spatial and the pixel's colours enter as C input features.

Every autoregressive model here shares one interface:
  __call__(x, y) -> logits [B, H, W, P] (`pixels.head_width`), the outputs of colour k at
    pixel i depending on pixels < i and on colours < k of pixel i only;
  logits_from_features(f, y): the same from per-pixel input features (for gradient tests);
  decode_init(batch_size, image_shape) / decode_step(state, canvas, pos, y): one sampling
  step's logits (a sub-pixel's, or a whole pixel's for the mixture) for a sampler, from a
  cache of what earlier steps computed.

Cached decoding (Ramachandran et al., 2017): the 1x1 layers act on one pixel, and each
masked conv's output at raster position i reads its input at positions <= i only (< i
for type A), which earlier steps (or this one) computed. So step i computes every layer
at pixel i alone, keeping each masked conv's input in a cache: one pixel's worth of
network per step, with the kernels of the full pass. In colour, each of a pixel's C steps
computes the network at that pixel with the colours drawn so far; the colour masks keep
the undrawn ones out of the logits asked for, but not out of the other groups' cached
values, so the first step of the next pixel computes the finished pixel once more.

`dtype` 'bfloat16' computes every layer in bfloat16 from the input features on; the
params and the logits are float32.
"""

from __future__ import annotations

import jax
from flax import linen as nn

import jax.numpy as jnp

from genjax.models import colour_masks, masked_conv, pixels


class PixelCNN(nn.Module):
  likelihood: str = 'bernoulli'
  channels: int = 64  # h in the paper: blocks carry 2h channels
  num_blocks: int = 7
  first_kernel: int = 7
  kernel: int = 3
  output_hidden: int = 64
  num_classes: int = 0  # > 0: p(x | y) through a label embedding added after layer one
  num_codes: int = 0  # K for likelihood='codes'
  image_channels: int = 1  # C: 1 (grayscale, codes) or 3 (RGB)
  num_mixtures: int = 0  # M for likelihood='logistic_mixture'
  dtype: str = 'float32'  # the layers' computation; params and logits float32

  @property
  def colours(self) -> int:
    """Colour groups the channels are masked by: C for per-sub-pixel heads, else 1."""
    return pixels.steps_per_pixel(self.likelihood, self.image_channels)

  def setup(self):
    width = pixels.head_width(self.likelihood, self.num_codes, self.image_channels,
                              self.num_mixtures)
    h, g, dtype = self.channels, self.colours, self.dtype
    # The masked convs compute in their inputs' dtype.
    self.first = masked_conv.MaskedConv2D(2 * h, self.first_kernel, 'A', colours=g)
    self.block_in = [colour_masks.dense(h, g, dtype=dtype) for _ in range(self.num_blocks)]
    self.block_mid = [masked_conv.MaskedConv2D(h, self.kernel, 'B', colours=g)
                      for _ in range(self.num_blocks)]
    self.block_out = [colour_masks.dense(2 * h, g, dtype=dtype) for _ in range(self.num_blocks)]
    self.out_hidden = colour_masks.dense(self.output_hidden, g, dtype=dtype)
    self.out_logits = colour_masks.dense(width, g, dtype=dtype)
    if self.num_classes:
      self.label_embed = nn.Embed(self.num_classes, 2 * h, dtype=dtype)
    if self.likelihood == 'codes':
      self.code_embed = nn.Embed(self.num_codes, h, dtype=dtype)

  @property
  def feature_width(self) -> int:
    return self.channels if self.likelihood == 'codes' else self.image_channels

  def features(self, x: jax.Array) -> jax.Array:
    """Canvas [..., C] -> per-pixel input features [..., feature_width]."""
    if self.likelihood == 'codes':
      return self.code_embed(pixels.to_tokens(x, self.likelihood, self.num_codes))
    return pixels.centred(x)

  def _label(self, y):
    """The label embedding, broadcast over pixels [B, 1, 2h]; 0 when unconditional."""
    if not self.num_classes:
      return 0.0
    if y is None:
      raise ValueError('This PixelCNN is class-conditional: pass labels y.')
    return self.label_embed(y)[:, None, :]

  def _block(self, i: int, h: jax.Array, masked) -> jax.Array:
    """Residual block i; `masked` applies block_mid[i] to its input."""
    return h + self.block_out[i](nn.relu(masked(nn.relu(self.block_in[i](nn.relu(h))))))

  def _head(self, h: jax.Array) -> jax.Array:
    """Logits in float32: the log-likelihood is computed from them."""
    return self.out_logits(nn.relu(self.out_hidden(nn.relu(h)))).astype(jnp.float32)

  def logits_from_features(self, f: jax.Array, y: jax.Array | None = None) -> jax.Array:
    h = self.first(f.astype(self.dtype))
    if self.num_classes:
      h = h + self._label(y)[:, None]
    for i in range(self.num_blocks):
      h = self._block(i, h, self.block_mid[i])
    return self._head(h)

  def __call__(self, x: jax.Array, y: jax.Array | None = None) -> jax.Array:
    return self.logits_from_features(self.features(x), y)

  def decode_init(self, batch_size: int, image_shape: tuple[int, ...]):
    """Zero caches of the first conv's input (pixel features) and every masked 3x3's."""
    hw = tuple(image_shape[:2])
    return {'pixels': self.first.conv.empty_input(batch_size, hw, self.feature_width),
            'mid': [m.conv.empty_input(batch_size, hw, self.channels) for m in self.block_mid]}

  def _pass_at(self, state, r, c, y):
    """(head output [B, P], state) at pixel (r, c), from the cached first-conv input;
    stores each masked 3x3's input there."""
    h = self.first.conv.at(state['pixels'], r, c) + self._label(y)  # [B, 1, 2h]
    mids = []
    for i, mid in enumerate(self.block_mid):

      def masked(u, i=i, conv=mid.conv):  # type B: u at (r, c) is cached before it is read
        mids.append(conv.store(state['mid'][i], u, r, c))
        return conv.at(mids[-1], r, c)

      h = self._block(i, h, masked)
    return self._head(h)[:, 0], dict(state, mid=mids)

  def _store_and_pass(self, state, canvas, p, y):
    """Pixel p of `canvas` into the first conv's cache, then `_pass_at` it."""
    r, c, f = masked_conv.pixel_features(canvas, p, self.features)
    state = dict(state, pixels=self.first.conv.store(state['pixels'], f, r, c))
    return self._pass_at(state, r, c, y)

  def decode_step(self, state, canvas: jax.Array, pos: jax.Array, y: jax.Array | None = None):
    """Logits [B, L] at sampling step `pos`, computed at its pixel only.

    One step a pixel (grayscale, codes, the mixture's whole pixels): reads pixel pos - 1 of
    `canvas` into the cache; everything else comes from `state`. In colour, step pos is
    colour pos % C of pixel pos // C, read from that pixel's colours drawn so far.
    """
    g = self.colours
    if g == 1:
      w = canvas.shape[2]
      pr, pc, prev = masked_conv.previous_pixel(canvas, pos, self.features)
      state = dict(state, pixels=self.first.conv.store(state['pixels'], prev, pr, pc))
      return self._pass_at(state, pos // w, pos % w, y)
    p, k = pos // g, pos % g
    # The finished previous pixel, once, so that every group of every cache holds its values.
    state = nn.cond(jnp.logical_and(k == 0, p > 0),
                    lambda mdl, state: mdl._store_and_pass(state, canvas, p - 1, y)[1],
                    lambda mdl, state: state, self, state)
    out, state = self._store_and_pass(state, canvas, p, y)
    return out.reshape(out.shape[0], g, -1)[:, k], state
