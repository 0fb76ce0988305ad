"""Digests that tell whether a restored train state is the one that was saved.

`state_digest` sums every array's bit pattern as 32-bit words, wrapping: one fused pass on
device, independent of summation order, and any single flipped bit changes its leaf's sum.
`layout` names the state's structure, shapes and dtypes, so that a checkpoint of another
layout (a changed optimiser, say) is told apart from a corrupt one.
"""

from __future__ import annotations

import hashlib

import jax
import jax.numpy as jnp
import numpy as np

_WORDS = {1: jnp.uint8, 2: jnp.uint16, 4: jnp.uint32, 8: jnp.uint32}


def _word_sum(x: jax.Array) -> jax.Array:
  x = jnp.asarray(x)
  if x.dtype == jnp.bool_:
    x = x.astype(jnp.uint8)
  if jax.dtypes.issubdtype(x.dtype, jax.dtypes.prng_key):
    x = jax.random.key_data(x)
  words = jax.lax.bitcast_convert_type(x, _WORDS[x.dtype.itemsize]).astype(jnp.uint32)
  return jnp.sum(words, dtype=jnp.uint32)


_digest = jax.jit(lambda leaves: [_word_sum(x) for x in leaves])


def state_digest(tree) -> list[int]:
  """One wrapping 32-bit sum per array leaf, in leaf order."""
  leaves = jax.tree.leaves(tree)
  return [int(v) for v in jax.device_get(_digest(leaves))]


def layout(tree) -> str:
  """A short hash of the tree's structure and its leaves' shapes and dtypes."""
  paths = jax.tree_util.tree_flatten_with_path(tree)[0]
  text = ';'.join(f'{jax.tree_util.keystr(path)}:{tuple(np.shape(leaf))}:'
                  f'{np.dtype(getattr(leaf, "dtype", type(leaf))).name}' for path, leaf in paths)
  return hashlib.sha256(text.encode()).hexdigest()[:16]
