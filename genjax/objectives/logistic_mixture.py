"""The discretised logistic mixture over whole 8-bit pixels (Salimans et al., 2017,
"PixelCNN++", sec. 2.1-2.2): log P(x) of a pixel's C colours at once.

Per component m: a weight logit, and per colour j a mean mu_jm and a log-scale s_jm; with
several colours, the means of later colours move linearly with the earlier colours' values
(sec. 2.2: mu_G = mu_G' + a * x_R, mu_B = mu_B' + b * x_R + c * x_G, with tanh-squashed
coefficients), so

  P(x) = sum_m pi_m prod_j P_logistic(bin of x_j | mu_jm + sum_{i<j} a_jim x_i, s_jm).

Each colour's 256 bins are [x - 1/255, x + 1/255] around the centres 2k/255 - 1, the first
reaching to -inf and the last to +inf (`pixel_likelihoods`), so the 256^C probabilities
sum to one. The parameters lie along the last axis: M weight logits, then a [2C + C(C-1)/2,
M] block of means, log-scales and coefficients (`pixels.mixture_params`).
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp

from genjax.models import pixels
from genjax.objectives.pixel_likelihoods import (MIN_LOG_SCALE,
                                                 discretized_logistic_log_likelihood, to_centres)


class Mixture(NamedTuple):
  """One pixel's mixture: weight logits [..., M]; means, log-scales [..., C, M];
  coefficients [..., C(C-1)/2, M] in (-1, 1), pair (j, i) with i < j at j(j-1)/2 + i."""
  logits: jax.Array
  means: jax.Array
  log_scales: jax.Array
  coeffs: jax.Array

  def mean_of(self, j: int, x: jax.Array) -> jax.Array:
    """Colour j's means [..., M] given the earlier colours' centres x [..., >= j]."""
    mean = self.means[..., j, :]
    for i in range(j):
      mean = mean + self.coeffs[..., j * (j - 1) // 2 + i, :] * x[..., i, None]
    return mean


def split(params: jax.Array, channels: int) -> Mixture:
  """The network's outputs [..., mixture_params(C, M)] as a Mixture; log-scales floored at
  MIN_LOG_SCALE as PixelCNN++ does (bins are 2/255 wide: narrower buys nothing)."""
  per_component = pixels.mixture_params(channels, 1)
  if params.shape[-1] % per_component:
    raise ValueError(f'{params.shape[-1]} outputs are no whole number of {channels}-colour '
                     f'components of {per_component} parameters each.')
  m = params.shape[-1] // per_component
  rest = params[..., m:].reshape(params.shape[:-1] + (per_component - 1, m))
  return Mixture(logits=params[..., :m], means=rest[..., :channels, :],
                 log_scales=jnp.maximum(rest[..., channels:2 * channels, :], MIN_LOG_SCALE),
                 coeffs=jnp.tanh(rest[..., 2 * channels:, :]))


def log_prob(params: jax.Array, x: jax.Array) -> jax.Array:
  """log P(x) per pixel [...]: params [..., mixture_params(C, M)], pixels x [..., C] as
  k/255 in [0, 1]."""
  channels = x.shape[-1]
  mix = split(params, channels)
  centres = to_centres(x)
  per_component = jax.nn.log_softmax(mix.logits, axis=-1)
  for j in range(channels):
    per_component = per_component + discretized_logistic_log_likelihood(
        centres[..., j, None], mix.mean_of(j, centres), mix.log_scales[..., j, :])
  return jax.nn.logsumexp(per_component, axis=-1)
