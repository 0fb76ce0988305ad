"""Which input pixels an autoregressive model's output at a pixel depends on, by gradients.

The dependence is structural: a gradient that is exactly zero at random features means
no path through the network (masks, causal attention, recurrence order), so it shows
causality and PixelCNN's blind spot regardless of the trained weights.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np


def input_dependence(model, params, shape: tuple[int, ...], y=None,
                     out_pixel: int | None = None) -> np.ndarray:
  """dep[i, j]: d logits(pixel i) / d features(pixel j) is not identically zero, [n, n].

  With `out_pixel`, only its row, as [n]. Gradients are taken with respect to the
  per-pixel input features (the centred pixel for conv models, the token embedding for
  sequence models), at random features.
  """
  x = jnp.zeros((1,) + tuple(shape))
  f = model.apply(params, x, method='features')
  f = jax.random.normal(jax.random.PRNGKey(1), f.shape)
  n = shape[0] * shape[1]

  def outputs(f):
    return model.apply(params, f, y, method='logits_from_features').sum(-1).reshape(n)

  if out_pixel is not None:
    grad = jax.jit(jax.grad(lambda f: outputs(f)[out_pixel]))(f)
    return np.asarray(jnp.any(grad != 0, axis=-1).reshape(n))
  jac = jax.jit(jax.jacrev(outputs))(f)  # [n, 1, H, W, F]
  return np.asarray(jnp.any(jac != 0, axis=-1).reshape(n, n))
