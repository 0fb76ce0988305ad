"""Sampling autoregressive image models pixel by pixel, under jit with `lax.scan`.

At raster position i the sampler asks the model for the logits of p(x_i | x_<i), draws
x_i with the key fold_in(rng, i), writes it into the canvas, and records log p(x_i | x_<i).
Two ways to get the logits, with the same draws from the same key:
- fast: the model's `decode_step`: a key/value cache (Transformer), the recurrent state
  (LSTM), or caches of every masked conv's input, so that each step computes the network
  at one pixel only (PixelCNNs; Ramachandran et al., 2017);
- naive: the full network on the whole canvas at every position (the reference).
A colour image is drawn sub-pixel by sub-pixel, R, G then B at each pixel (H * W * C
steps; the models' colour masks or sub-pixel sequences make each step's logits see the
colours drawn before it); under the discretised logistic mixture a step draws a whole
pixel from the mixture's own sampler (`logistic_mixture`). Completion fixes the first
`num_given` steps (e.g. the top half) to a given image and samples the rest. A grid of
VQ-VAE codes, or a window of text tokens as a 1 x T grid, is sampled the same way, as the
float canvas of `pixels.canvas_from_codes`.

Draws may be tempered and top-k filtered (`logit_filters.sampling_logits`); the recorded
log p(x_i | x_<i) is always the model's own (temperature 1, unfiltered), so a sample's
recorded log-probs sum to its log-likelihood under the model whatever it was drawn with.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp

from genjax.models import pixels
from genjax.objectives.autoregressive import pixel_log_probs
from genjax.samplers import logistic_mixture
from genjax.samplers.logit_filters import sampling_logits


def draw(rng: jax.Array, logits: jax.Array, likelihood: str) -> jax.Array:
  """Integer tokens [B] from per-pixel logits [B, C]."""
  if likelihood == 'bernoulli':
    u = jax.random.uniform(rng, logits.shape[:1])
    return (jnp.log(u) < jax.nn.log_sigmoid(logits[:, 0])).astype(jnp.int32)
  return jax.random.categorical(rng, logits, axis=-1).astype(jnp.int32)


@functools.partial(jax.jit, static_argnames=('model', 'image_shape', 'num', 'naive',
                                             'temperature', 'top_k'))
def sample(model, params, rng: jax.Array, image_shape: tuple[int, ...], num: int,
           y: jax.Array | None = None, given: jax.Array | None = None,
           num_given: jax.Array | int = 0, naive: bool = False, *,
           temperature: float = 1.0, top_k: int = 0):
  """Draws `num` images [num, H, W, C] and the log p of each step given the earlier ones
  [num, H * W * steps_per_pixel]: one step per sub-pixel (R, G, B within a pixel), or per
  whole pixel under the logistic mixture.

  `given` [num, H, W, C] with `num_given` > 0 fixes steps < num_given (their log-probs are
  still recorded); num_given may be one int for every row or int [num, 1], one per row
  (prompts of different lengths). `naive` runs the full network per step. Tokens are
  drawn from the logits divided by `temperature` and, with `top_k` > 0, from the k most
  probable only (K-way heads); temperature 1 and top_k 0 draw exactly as before. The
  recorded log-probs are the model's own, at temperature 1 and unfiltered.
  """
  h, w = image_shape[:2]
  channels = (tuple(image_shape) + (1,))[2]
  likelihood, num_codes = model.likelihood, model.num_codes
  steps = pixels.steps_per_pixel(likelihood, channels)
  width = channels // steps  # canvas channels one step writes: 1, or the mixture's C
  if top_k and likelihood == 'bernoulli':
    raise ValueError('top_k filters a softmax over several tokens; a Bernoulli head has '
                     'one logit, so pass top_k=0 (temperature still applies).')
  if (top_k or temperature != 1.0) and likelihood == pixels.MIXTURE:
    raise ValueError('temperature and top_k reshape a softmax; the logistic mixture is '
                     'drawn from as it is, so pass temperature=1.0 and top_k=0.')
  if naive:
    state = {}

    def logits_at(state, canvas, pos):
      p, k = pos // steps, pos % steps
      logits = model.apply(params, canvas, y)[:, p // w, p % w]  # [B, P]
      return logits.reshape(num, steps, -1)[:, k], state
  else:
    state = model.apply(params, num, image_shape, method='decode_init')

    def logits_at(state, canvas, pos):
      return model.apply(params, state, canvas, pos, y, method='decode_step')

  def body(carry, pos):
    state, canvas = carry
    p, first = pos // steps, (pos % steps) * width
    r, c = p // w, p % w
    logits, state = logits_at(state, canvas, pos)
    key = jax.random.fold_in(rng, pos)
    if likelihood == pixels.MIXTURE:
      value = logistic_mixture.sample(key, logits, channels)  # [B, C]
    else:
      token = draw(key, sampling_logits(logits, temperature, top_k), likelihood)
      value = pixels.from_tokens(token, likelihood, num_codes)  # [B, 1]
    if given is not None:  # the given pixel itself, bit for bit
      value = jnp.where(pos < num_given,
                        jax.lax.dynamic_slice_in_dim(given[:, r, c], first, width, axis=1),
                        value)
    logp = pixel_log_probs(logits, value, likelihood, num_codes)
    canvas = jax.lax.dynamic_update_slice(canvas, value[:, None, None, :], (0, r, c, first))
    return (state, canvas), logp

  canvas = jnp.zeros((num, h, w, channels), jnp.float32)
  (_, canvas), logps = jax.lax.scan(body, (state, canvas), jnp.arange(h * w * steps))
  return canvas, logps.T


def complete(model, params, rng: jax.Array, images: jax.Array, given_rows: int,
             y: jax.Array | None = None, naive: bool = False):
  """Keeps the top `given_rows` rows of `images` [B, H, W, C] and samples the rest."""
  b, h, w, channels = images.shape
  steps = pixels.steps_per_pixel(model.likelihood, channels)
  return sample(model, params, rng, tuple(images.shape[1:]), b, y, images,
                given_rows * w * steps, naive)
