"""A small CNN classifier whose penultimate layer is genjax's offline feature space.

conv(c1)-conv(c1)-maxpool-conv(c2)-conv(c2)-maxpool-dense(hidden)-dropout-dense(classes),
ReLU throughout, inputs in [0, 1]. `features` is the ReLU output of the hidden layer: the
space in which `genjax.metrics.frechet` compares sample sets. No batch norm, so the
network is a pure function of its params (the train state has no mutable statistics).
"""

from __future__ import annotations

from typing import Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp

from genjax.models.conv import Conv


class Classifier(nn.Module):
  num_classes: int = 10
  conv_channels: Sequence[int] = (32, 64)
  hidden: int = 256
  dropout: float = 0.3
  dtype: str = 'float32'  # the layers' computation; params, features and logits float32

  def setup(self):
    # The convs compute in their input's dtype.
    self.convs = [(Conv(c, (3, 3)), Conv(c, (3, 3))) for c in self.conv_channels]
    self.conv_dropout = nn.Dropout(self.dropout / 2)
    self.dense = nn.Dense(self.hidden, dtype=self.dtype)
    self.head_dropout = nn.Dropout(self.dropout)
    self.head = nn.Dense(self.num_classes, dtype=self.dtype)

  def features(self, x: jax.Array, train: bool = False) -> jax.Array:
    """Penultimate features [B, hidden] of images x [B, H, W, C] in [0, 1]."""
    return self._features(x, train).astype(jnp.float32)

  def _features(self, x: jax.Array, train: bool) -> jax.Array:
    h = (2.0 * x - 1.0).astype(self.dtype)
    for a, b in self.convs:
      h = nn.relu(b(nn.relu(a(h))))
      h = nn.max_pool(h, (2, 2), (2, 2), padding='SAME')
      h = self.conv_dropout(h, deterministic=not train)
    return nn.relu(self.dense(h.reshape(h.shape[0], -1)))

  def __call__(self, x: jax.Array, train: bool = False) -> jax.Array:
    """Class logits [B, num_classes], float32: the cross-entropy is computed from them."""
    h = self.head_dropout(self._features(x, train), deterministic=not train)
    return self.head(h).astype(jnp.float32)


def cross_entropy(logits: jax.Array, labels: jax.Array) -> jax.Array:
  """Per-example -log softmax(logits)[label]."""
  return -jnp.take_along_axis(jax.nn.log_softmax(logits), labels[:, None], axis=-1)[:, 0]


def make_model(model_config, num_classes: int, dtype: str = 'float32') -> Classifier:
  """The classifier that a run's model config (or saved signature['model']) describes,
  computing in `dtype`."""
  m = model_config
  return Classifier(num_classes=num_classes, conv_channels=tuple(m['conv_channels']),
                    hidden=int(m['hidden']), dropout=float(m['dropout']), dtype=dtype)
