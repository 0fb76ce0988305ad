"""The class labels a conditional sampler draws, checked against the model: one check for
every family that samples a class with classifier-free guidance."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from genjax.errors import OptionError


def sample_labels(label, num_samples: int, num_classes: int, *, guidance: float | None = None,
                  unguided: float = 0.0) -> jax.Array | None:
  """`label` (one, or one per sample) as int32 [num_samples]; None without a label.

  Args:
    label: None, a class, or one class per sample.
    num_samples: how many samples are drawn.
    num_classes: the model's classes; 0 for an unconditional model.
    guidance: the guidance scale asked for, which only a label gives a class to scale
      towards; None where the family draws labels of its own without one.
    unguided: the scale at which the family's sampler draws without guidance (1 where w
      weighs the conditional model, 0 where it weighs the difference from it).

  Raises:
    OptionError: a label for an unconditional model or outside its classes, or guidance
      without a label.
  """
  if label is None:
    if guidance is not None and guidance != unguided:
      raise OptionError(f'guidance={guidance} scales towards a class: give label too.')
    return None
  if not num_classes:
    raise OptionError('label: this model is unconditional (model.conditional=False).')
  y = np.broadcast_to(np.asarray(label, np.int32), (num_samples,))
  if y.min() < 0 or y.max() >= num_classes:
    raise OptionError(f'label={label}: the model\'s classes are 0..{num_classes - 1}.')
  return jnp.asarray(y)
