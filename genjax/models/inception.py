"""InceptionV3 as FID and the Inception Score use it: pytorch-fid's network, in Flax.

This is the TensorFlow 2015-12-05 Inception graph (the one TTUR's FID code and the original
Inception Score read) in the form pytorch-fid ports it: `InceptionV3([3],
use_fid_inception=True, resize_input=True, normalize_input=True)`, i.e. torchvision's
`Inception3(num_classes=1008, aux_logits=False)` with pytorch-fid's FID blocks
(genjax.models.inception_blocks), plus the graph's 1008-way classifier `fc`, which
pytorch-fid builds and loads but does not run.

Input: images [B, H, W, 3] (NHWC, RGB) in [0, 1], any H and W. As pytorch-fid:
1. resized to 299x299 bilinearly as torch's `F.interpolate(mode='bilinear',
   align_corners=False)`: half-pixel centres, two taps per axis, no antialiasing, whether
   up or down. That is `jax.image.resize(..., 'bilinear', antialias=False)`; jax's default
   antialias=True widens the kernel when downsampling and differs from torch there;
2. scaled to [-1, 1] (2x - 1).
Output: {'pool3': [B, 2048] the final average pool (FID's features), 'logits': [B, 1008]
`fc(pool3)` with its bias, as torchvision computes them, 'logits_unbiased': [B, 1008]
pool3 @ fc's kernel without the bias, which is what the original Inception Score code
(improved-gan's `softmax/logits/MatMul`, and torch-fidelity after it) takes the softmax of}.

There is no training mode: BatchNorm always uses its running statistics and there is no
dropout, so `apply` is a pure function of {'params', 'batch_stats'}. The trained variables
come from pytorch-fid's weights file via genjax.models.inception_weights.
"""

from __future__ import annotations

import flax.linen as nn
import jax
import jax.numpy as jnp

from genjax.models.inception_blocks import (BasicConv, InceptionA, InceptionB, InceptionC,
                                            InceptionD, InceptionE, max_pool_3x3_stride2)

INPUT_SIZE = 299
POOL3_FEATURES = 2048
NUM_CLASSES = 1008  # the 2015 graph's classifier: 1000 ImageNet classes and 8 unused


def resize_input(images: jax.Array, size: int = INPUT_SIZE) -> jax.Array:
  """[B, H, W, C] -> [B, size, size, C] as torch's `F.interpolate(x, (size, size),
  mode='bilinear', align_corners=False)` (no antialiasing); unchanged if already that size."""
  b, h, w, c = images.shape
  if (h, w) == (size, size):
    return images
  return jax.image.resize(images, (b, size, size, c), 'bilinear', antialias=False)


class InceptionV3(nn.Module):
  """The FID Inception network: images [B, H, W, 3] in [0, 1] -> {'pool3', 'logits',
  'logits_unbiased'} (module docstring). Names follow torchvision's Inception3."""

  @nn.compact
  def __call__(self, images: jax.Array) -> dict[str, jax.Array]:
    if images.ndim != 4 or images.shape[-1] != 3:
      raise ValueError(f'InceptionV3 takes RGB images [B, H, W, 3] in [0, 1], got shape '
                       f'{images.shape}.')
    x = resize_input(images.astype(jnp.float32))
    x = 2 * x - 1
    # Stem: 299 -> 149 -> 147 -> 147 -> 73 -> 73 -> 71 -> 35.
    x = BasicConv(32, (3, 3), (2, 2), name='Conv2d_1a_3x3')(x)
    x = BasicConv(32, (3, 3), name='Conv2d_2a_3x3')(x)
    x = BasicConv(64, (3, 3), padding=(1, 1), name='Conv2d_2b_3x3')(x)
    x = max_pool_3x3_stride2(x)
    x = BasicConv(80, name='Conv2d_3b_1x1')(x)
    x = BasicConv(192, (3, 3), name='Conv2d_4a_3x3')(x)
    x = max_pool_3x3_stride2(x)
    # 35x35: 192 -> 256 -> 288 -> 288 channels; 17x17: 768.
    x = InceptionA(32, name='Mixed_5b')(x)
    x = InceptionA(64, name='Mixed_5c')(x)
    x = InceptionA(64, name='Mixed_5d')(x)
    x = InceptionB(name='Mixed_6a')(x)
    x = InceptionC(128, name='Mixed_6b')(x)
    x = InceptionC(160, name='Mixed_6c')(x)
    x = InceptionC(160, name='Mixed_6d')(x)
    x = InceptionC(192, name='Mixed_6e')(x)
    # 8x8: 1280 -> 2048 -> 2048 channels.
    x = InceptionD(name='Mixed_7a')(x)
    x = InceptionE('avg', name='Mixed_7b')(x)
    x = InceptionE('max', name='Mixed_7c')(x)
    pool3 = jnp.mean(x, axis=(1, 2))
    fc = nn.Dense(NUM_CLASSES, name='fc')
    logits = fc(pool3)
    unbiased = pool3 @ fc.variables['params']['kernel']
    return {'pool3': pool3, 'logits': logits, 'logits_unbiased': unbiased}
