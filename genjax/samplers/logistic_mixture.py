"""Exact draws from the discretised logistic mixture over whole pixels (Salimans et al.,
2017, sec. 2.2; the likelihood is `genjax.objectives.logistic_mixture`).

A component is drawn from the weights; then each colour in turn from its logistic,
x = mu + s * logit(u), rounded to the nearest bin centre 2k/255 - 1 and clipped to the
first or last bin. Rounding to the nearest centre is exactly choosing the bin
[x - 1/255, x + 1/255] that the continuous draw falls in, the edge bins reaching to
-inf and +inf, so the draw has the likelihood's probabilities. Later colours' means read
the earlier colours' drawn (discrete) values, as the likelihood reads the data's.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from genjax.objectives.logistic_mixture import split
from genjax.objectives.pixel_likelihoods import to_centres


def sample(rng: jax.Array, params: jax.Array, channels: int) -> jax.Array:
  """Pixels [..., C] as k/255 in [0, 1] from mixture parameters [..., P]."""
  mix = split(params, channels)
  component_rng, noise_rng = jax.random.split(rng)
  component = jax.random.categorical(component_rng, mix.logits, axis=-1)[..., None]

  def pick(t):  # the drawn component's entry: [..., M] -> [...]
    return jnp.take_along_axis(t, component, axis=-1)[..., 0]

  # u in [tiny, 1): logit(u) is finite, and its two tails are the edge bins after clipping.
  u = jax.random.uniform(noise_rng, params.shape[:-1] + (channels,),
                         minval=jnp.finfo(jnp.float32).tiny)
  noise = jnp.log(u) - jnp.log1p(-u)
  x = jnp.zeros(u.shape)
  for j in range(channels):
    mean = pick(mix.mean_of(j, to_centres(x)))
    scale = jnp.exp(pick(mix.log_scales[..., j, :]))
    level = jnp.clip(jnp.round((mean + scale * noise[..., j] + 1.0) * 127.5), 0, 255)
    x = x.at[..., j].set(level / 255.0)  # as the data hold it, so the likelihood reads it
  return x
