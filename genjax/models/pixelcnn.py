"""PixelCNN (van den Oord et al., 2016, "Pixel Recurrent Neural Networks", sec. 3.5).

A 7x7 type-A masked convolution, residual blocks (1x1 -> masked 3x3 type B -> 1x1, with
2h/h/2h channels as in the paper's Figure 5), then two 1x1 layers to per-pixel logits: one
Bernoulli logit for binary images or a 256-way softmax for 8-bit grayscale. Stacked masked
convolutions leave a blind spot above-right of each pixel (see gated_pixelcnn.py).

Every autoregressive model here shares one interface:
  __call__(x, y) -> logits [B, H, W, C], logits at pixel i depending on pixels < i only;
  logits_from_features(f, y): the same from per-pixel input features (for gradient tests);
  decode_init(batch_size) / decode_step(state, canvas, pos, y): one position's logits
  for a sampler, here computed on the pixel's receptive window only.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import linen as nn

from genjax.models import masked_conv, pixels


class PixelCNN(masked_conv.WindowSampling, nn.Module):
  likelihood: str = 'bernoulli'
  channels: int = 64  # h in the paper: blocks carry 2h channels
  num_blocks: int = 7
  first_kernel: int = 7
  kernel: int = 3
  output_hidden: int = 64
  num_classes: int = 0  # > 0: p(x | y) through a label embedding added after layer one

  def setup(self):
    pixels.check_likelihood(self.likelihood)
    h = self.channels
    self.first = masked_conv.MaskedConv2D(2 * h, self.first_kernel, 'A')
    self.block_in = [nn.Dense(h) for _ in range(self.num_blocks)]
    self.block_mid = [masked_conv.MaskedConv2D(h, self.kernel, 'B')
                      for _ in range(self.num_blocks)]
    self.block_out = [nn.Dense(2 * h) for _ in range(self.num_blocks)]
    self.out_hidden = nn.Dense(self.output_hidden)
    self.out_logits = nn.Dense(pixels.num_outputs(self.likelihood))
    if self.num_classes:
      self.label_embed = nn.Embed(self.num_classes, 2 * h)

  @property
  def extent(self) -> tuple[int, int, int]:
    """(up, left, right) reach of the receptive field of one output pixel."""
    r = self.first_kernel // 2 + self.num_blocks * (self.kernel // 2)
    return r, r, r

  def features(self, x: jax.Array) -> jax.Array:
    return pixels.centred(x)

  def logits_from_features(self, f: jax.Array, y: jax.Array | None = None) -> jax.Array:
    h = self.first(f)
    if self.num_classes:
      if y is None:
        raise ValueError('This PixelCNN is class-conditional: pass labels y.')
      h = h + self.label_embed(y)[:, None, None, :]
    for conv_in, conv_mid, conv_out in zip(self.block_in, self.block_mid, self.block_out):
      r = conv_out(nn.relu(conv_mid(nn.relu(conv_in(nn.relu(h))))))
      h = h + r
    return self.out_logits(nn.relu(self.out_hidden(nn.relu(h))))
