"""InceptionV3's layers as the FID network has them: torchvision's `Inception3` blocks with
pytorch-fid's patches for the TensorFlow 2015-12-05 graph (`pytorch_fid/inception.py`).

Every convolution is `BasicConv`: a convolution without bias, BatchNorm (eps 0.001) from its
running statistics, ReLU. Module and parameter names are torchvision's (`branch5x5_1`,
`conv`, `bn`), so a state-dict key `Mixed_5b.branch5x5_1.conv.weight` is the Flax path
`Mixed_5b/branch5x5_1/conv/kernel` (genjax.models.inception_weights converts them).

The graph's quirks, as pytorch-fid's FID blocks patch them in:
* A, C and the first E block (`Mixed_5b-d`, `Mixed_6b-e`, `Mixed_7b`) average-pool their
  pool branch 3x3 / stride 1 / pad 1 without counting the padded zeros
  (count_include_pad=False; torchvision's own blocks count them);
* the last E block (`Mixed_7c`) max-pools its pool branch instead.
B and D (`Mixed_6a`, `Mixed_7a`) are torchvision's, unpatched.

BatchNorm has no training mode here: it always normalises with the running statistics (the
`batch_stats` collection), so the network is a pure function of its variables.
"""

from __future__ import annotations

import flax.linen as nn
import jax
import jax.numpy as jnp

from genjax.models.conv import Conv

# TensorFlow's batch_norm epsilon, which torchvision's BasicConv2d (and so pytorch-fid) use.
BN_EPSILON = 1e-3


class BasicConv(nn.Module):
  """torchvision's BasicConv2d: conv (no bias) -> BatchNorm (running statistics) -> ReLU.

  `padding` is torch's symmetric (rows, cols) zero padding."""
  features: int
  kernel_size: tuple[int, int] = (1, 1)
  strides: tuple[int, int] = (1, 1)
  padding: tuple[int, int] = (0, 0)

  @nn.compact
  def __call__(self, x: jax.Array) -> jax.Array:
    ph, pw = self.padding
    x = Conv(self.features, self.kernel_size, self.strides, ((ph, ph), (pw, pw)),
             use_bias=False, name='conv')(x)
    x = nn.BatchNorm(use_running_average=True, epsilon=BN_EPSILON, name='bn')(x)
    return nn.relu(x)


def max_pool_3x3_stride2(x: jax.Array) -> jax.Array:
  """torch's `max_pool2d(x, 3, stride=2)`: no padding."""
  return nn.max_pool(x, (3, 3), (2, 2), 'VALID')


def avg_pool_3x3_tf(x: jax.Array) -> jax.Array:
  """`avg_pool2d(x, 3, stride=1, padding=1, count_include_pad=False)`: TensorFlow's SAME
  average pooling, which divides by the number of pixels inside the image."""
  return nn.avg_pool(x, (3, 3), (1, 1), ((1, 1), (1, 1)), count_include_pad=False)


def max_pool_3x3_same(x: jax.Array) -> jax.Array:
  """`max_pool2d(x, 3, stride=1, padding=1)` (the padding never wins: it is -inf)."""
  return nn.max_pool(x, (3, 3), (1, 1), ((1, 1), (1, 1)))


class InceptionA(nn.Module):
  """35x35 block (Mixed_5b-d), the FID variant: TF average pooling in the pool branch."""
  pool_features: int

  @nn.compact
  def __call__(self, x: jax.Array) -> jax.Array:
    b1 = BasicConv(64, name='branch1x1')(x)
    b5 = BasicConv(48, name='branch5x5_1')(x)
    b5 = BasicConv(64, (5, 5), padding=(2, 2), name='branch5x5_2')(b5)
    b3 = BasicConv(64, name='branch3x3dbl_1')(x)
    b3 = BasicConv(96, (3, 3), padding=(1, 1), name='branch3x3dbl_2')(b3)
    b3 = BasicConv(96, (3, 3), padding=(1, 1), name='branch3x3dbl_3')(b3)
    bp = BasicConv(self.pool_features, name='branch_pool')(avg_pool_3x3_tf(x))
    return jnp.concatenate([b1, b5, b3, bp], axis=-1)


class InceptionB(nn.Module):
  """35x35 -> 17x17 reduction (Mixed_6a), torchvision's."""

  @nn.compact
  def __call__(self, x: jax.Array) -> jax.Array:
    b3 = BasicConv(384, (3, 3), (2, 2), name='branch3x3')(x)
    bd = BasicConv(64, name='branch3x3dbl_1')(x)
    bd = BasicConv(96, (3, 3), padding=(1, 1), name='branch3x3dbl_2')(bd)
    bd = BasicConv(96, (3, 3), (2, 2), name='branch3x3dbl_3')(bd)
    return jnp.concatenate([b3, bd, max_pool_3x3_stride2(x)], axis=-1)


class InceptionC(nn.Module):
  """17x17 block with factorised 7x7s (Mixed_6b-e), the FID variant: TF average pooling."""
  channels_7x7: int

  @nn.compact
  def __call__(self, x: jax.Array) -> jax.Array:
    c7 = self.channels_7x7
    b1 = BasicConv(192, name='branch1x1')(x)
    b7 = BasicConv(c7, name='branch7x7_1')(x)
    b7 = BasicConv(c7, (1, 7), padding=(0, 3), name='branch7x7_2')(b7)
    b7 = BasicConv(192, (7, 1), padding=(3, 0), name='branch7x7_3')(b7)
    bd = BasicConv(c7, name='branch7x7dbl_1')(x)
    bd = BasicConv(c7, (7, 1), padding=(3, 0), name='branch7x7dbl_2')(bd)
    bd = BasicConv(c7, (1, 7), padding=(0, 3), name='branch7x7dbl_3')(bd)
    bd = BasicConv(c7, (7, 1), padding=(3, 0), name='branch7x7dbl_4')(bd)
    bd = BasicConv(192, (1, 7), padding=(0, 3), name='branch7x7dbl_5')(bd)
    bp = BasicConv(192, name='branch_pool')(avg_pool_3x3_tf(x))
    return jnp.concatenate([b1, b7, bd, bp], axis=-1)


class InceptionD(nn.Module):
  """17x17 -> 8x8 reduction (Mixed_7a), torchvision's."""

  @nn.compact
  def __call__(self, x: jax.Array) -> jax.Array:
    b3 = BasicConv(192, name='branch3x3_1')(x)
    b3 = BasicConv(320, (3, 3), (2, 2), name='branch3x3_2')(b3)
    b7 = BasicConv(192, name='branch7x7x3_1')(x)
    b7 = BasicConv(192, (1, 7), padding=(0, 3), name='branch7x7x3_2')(b7)
    b7 = BasicConv(192, (7, 1), padding=(3, 0), name='branch7x7x3_3')(b7)
    b7 = BasicConv(192, (3, 3), (2, 2), name='branch7x7x3_4')(b7)
    return jnp.concatenate([b3, b7, max_pool_3x3_stride2(x)], axis=-1)


class InceptionE(nn.Module):
  """8x8 block with split 1x3 / 3x1 branches (Mixed_7b, Mixed_7c). `pool` is 'avg' (TF
  average pooling: FIDInceptionE_1, Mixed_7b) or 'max' (FIDInceptionE_2, Mixed_7c)."""
  pool: str

  @nn.compact
  def __call__(self, x: jax.Array) -> jax.Array:
    if self.pool not in ('avg', 'max'):
      raise ValueError(f"InceptionE pool must be 'avg' or 'max', got {self.pool!r}.")
    b1 = BasicConv(320, name='branch1x1')(x)
    b3 = BasicConv(384, name='branch3x3_1')(x)
    b3 = [BasicConv(384, (1, 3), padding=(0, 1), name='branch3x3_2a')(b3),
          BasicConv(384, (3, 1), padding=(1, 0), name='branch3x3_2b')(b3)]
    bd = BasicConv(448, name='branch3x3dbl_1')(x)
    bd = BasicConv(384, (3, 3), padding=(1, 1), name='branch3x3dbl_2')(bd)
    bd = [BasicConv(384, (1, 3), padding=(0, 1), name='branch3x3dbl_3a')(bd),
          BasicConv(384, (3, 1), padding=(1, 0), name='branch3x3dbl_3b')(bd)]
    pooled = avg_pool_3x3_tf(x) if self.pool == 'avg' else max_pool_3x3_same(x)
    bp = BasicConv(192, name='branch_pool')(pooled)
    return jnp.concatenate([b1, *b3, *bd, bp], axis=-1)
