"""PixelCNN (van den Oord et al., 2016, "Pixel Recurrent Neural Networks", sec. 3.5).

A 7x7 type-A masked convolution, residual blocks (1x1 -> masked 3x3 type B -> 1x1, with
2h/h/2h channels as in the paper's Figure 5), then two 1x1 layers to per-pixel logits: one
Bernoulli logit for binary images, a 256-way softmax for 8-bit grayscale or a K-way one for
VQ-VAE codes. Pixels enter as centred scalars; codes, which are not ordinal, as a learned
embedding of width h. Stacked masked convolutions leave a blind spot above-right of each
pixel (see gated_pixelcnn.py).

Every autoregressive model here shares one interface:
  __call__(x, y) -> logits [B, H, W, C], logits at pixel i depending on pixels < i only;
  logits_from_features(f, y): the same from per-pixel input features (for gradient tests);
  decode_init(batch_size, image_shape) / decode_step(state, canvas, pos, y): one position's
  logits for a sampler, from a cache of what earlier positions computed.

Cached decoding (Ramachandran et al., 2017): the 1x1 layers act on one pixel, and each
masked conv's output at raster position i reads its input at positions <= i only (< i
for type A), which earlier steps (or this one) computed. So step i computes every layer
at pixel i alone, keeping each masked conv's input in a cache: one pixel's worth of
network per step, with the kernels of the full pass.
"""

from __future__ import annotations

import jax
from flax import linen as nn

from genjax.models import masked_conv, pixels


class PixelCNN(nn.Module):
  likelihood: str = 'bernoulli'
  channels: int = 64  # h in the paper: blocks carry 2h channels
  num_blocks: int = 7
  first_kernel: int = 7
  kernel: int = 3
  output_hidden: int = 64
  num_classes: int = 0  # > 0: p(x | y) through a label embedding added after layer one
  num_codes: int = 0  # K for likelihood='codes'

  def setup(self):
    pixels.check_likelihood(self.likelihood, self.num_codes)
    h = self.channels
    self.first = masked_conv.MaskedConv2D(2 * h, self.first_kernel, 'A')
    self.block_in = [nn.Dense(h) for _ in range(self.num_blocks)]
    self.block_mid = [masked_conv.MaskedConv2D(h, self.kernel, 'B')
                      for _ in range(self.num_blocks)]
    self.block_out = [nn.Dense(2 * h) for _ in range(self.num_blocks)]
    self.out_hidden = nn.Dense(self.output_hidden)
    self.out_logits = nn.Dense(pixels.num_outputs(self.likelihood, self.num_codes))
    if self.num_classes:
      self.label_embed = nn.Embed(self.num_classes, 2 * h)
    if self.likelihood == 'codes':
      self.code_embed = nn.Embed(self.num_codes, h)

  @property
  def feature_width(self) -> int:
    return self.channels if self.likelihood == 'codes' else 1

  def features(self, x: jax.Array) -> jax.Array:
    """Canvas [..., 1] -> per-position input features [..., feature_width]."""
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
    return self.out_logits(nn.relu(self.out_hidden(nn.relu(h))))

  def logits_from_features(self, f: jax.Array, y: jax.Array | None = None) -> jax.Array:
    h = self.first(f)
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

  def decode_step(self, state, canvas: jax.Array, pos: jax.Array, y: jax.Array | None = None):
    """Logits [B, C] at raster position `pos`, computed at that pixel only.

    Reads pixel pos - 1 of `canvas` (into the cache); everything else comes from `state`.
    """
    w = canvas.shape[2]
    r, c = pos // w, pos % w
    pr, pc, prev = masked_conv.previous_pixel(canvas, pos, self.features)
    first = self.first.conv
    state = dict(state, pixels=first.store(state['pixels'], prev, pr, pc))
    h = first.at(state['pixels'], r, c) + self._label(y)  # [B, 1, 2h]
    mids = []
    for i, mid in enumerate(self.block_mid):

      def masked(u, i=i, conv=mid.conv):  # type B: u at (r, c) is cached before it is read
        mids.append(conv.store(state['mid'][i], u, r, c))
        return conv.at(mids[-1], r, c)

      h = self._block(i, h, masked)
    return self._head(h)[:, 0], dict(state, mid=mids)
