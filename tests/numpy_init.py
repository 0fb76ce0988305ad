"""Variables of a Flax module drawn in NumPy: compiling Flax's jitted initialisers takes
seconds per module on a busy CPU, most of a small test's time."""

import jax
import jax.numpy as jnp
import numpy as np

_ONES = ('scale', 'var', 'sigma')  # BatchNorm scales and variances, spectral-norm sigmas
_ZEROS = ('bias', 'mean')


def numpy_variables(module, *args, seed: int = 0, scale: float = 0.02, **kwargs):
  """module.init(key, *args, **kwargs)'s variables: weights from N(0, scale^2), BatchNorm
  scales and variances 1, biases and means 0."""
  shapes = jax.eval_shape(lambda: module.init(jax.random.PRNGKey(0), *args, **kwargs))
  rng = np.random.default_rng(seed)

  def fill(path, s):
    name = str(getattr(path[-1], 'key', path[-1])).split('/')[-1]
    if name in _ONES:
      return jnp.ones(s.shape, s.dtype)
    if name in _ZEROS:
      return jnp.zeros(s.shape, s.dtype)
    return jnp.asarray(scale * rng.standard_normal(s.shape), s.dtype)

  return jax.tree_util.tree_map_with_path(fill, shapes)
