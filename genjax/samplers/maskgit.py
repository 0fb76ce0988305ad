"""MaskGIT's iterative parallel decoding (Chang et al., 2022, sec. 3.2; their
`parallel_decode.py`): N codes in T steps.

The canvas starts all masked. At step t = 1..T the model predicts every position at once;
a code is drawn at each masked position from the logits divided by `temperature`, and its
confidence is its log-probability under the (guided, untempered) logits plus Gumbel noise
scaled by choice_temperature (1 - t/T), annealed to none at the last step. Of the newly
drawn codes, the floor(N gamma(t/T)) least confident go back to the mask and the rest are
revealed; a revealed code never changes, and step T reveals all. The counts are clamped so
that each step reveals at least one code (as theirs are), which every T in 1..N allows:
gamma(s) >= 1 - s for both schedules, so floor(N gamma(t/T)) >= T - t. For N = 256, T = 8
and the cosine schedule, the steps reveal 5, 15, 24, 31, 39, 45, 48, 49 codes.

Classifier-free guidance (Ho & Salimans, 2022) runs the batch with its labels and with the
null class and decodes from (1 + w) c - w u of the two logits (w = 0: the conditional
model).
"""

from __future__ import annotations

import functools
import math
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from genjax.errors import OptionError
from genjax.objectives.maskgit import mask_ratio


class Decoding(NamedTuple):
  codes: jax.Array  # int [B, N]: the decoded sequences
  canvases: jax.Array  # int [T, B, N]: the canvas after each step, K where still masked
  predictions: jax.Array  # int [T, B, N]: each step's codes drawn at every position


def masked_after_each_step(num_tokens: int, steps: int, schedule: str = 'cosine') -> np.ndarray:
  """int [T]: how many of the N codes are still masked after each of the T steps (the last
  0). OptionError in one line for a T outside 1..N."""
  if not 1 <= steps <= num_tokens:
    raise OptionError(f'steps={steps}: MaskGIT decodes its N = {num_tokens} codes in 1..'
                      f'{num_tokens} steps (each step reveals at least one); pass steps '
                      f'between 1 and {num_tokens}.')
  masked, left = [], num_tokens
  for t in range(1, steps + 1):
    if schedule == 'linear':  # exactly, in integers: N (1 - t/T)
      scheduled = num_tokens * (steps - t) // steps
    else:
      scheduled = math.floor(num_tokens * float(mask_ratio(t / steps, schedule)))
    left = 0 if t == steps else min(left - 1, scheduled)
    masked.append(left)
  return np.asarray(masked, np.int64)


def reveals(num_tokens: int, steps: int, schedule: str = 'cosine') -> np.ndarray:
  """int [T]: how many codes each step reveals; positive, summing to N."""
  masked = masked_after_each_step(num_tokens, steps, schedule)
  return -np.diff(np.concatenate([[num_tokens], masked]))


def guided_logits(conditional: jax.Array, unconditional: jax.Array,
                  guidance: float) -> jax.Array:
  """(1 + w) c - w u: classifier-free guidance at scale w (0: the conditional logits)."""
  return (1.0 + guidance) * conditional - guidance * unconditional


def model_logits(model, params, tokens: jax.Array, y: jax.Array | None,
                 guidance: float = 0.0) -> jax.Array:
  """The logits [B, N, K] MaskGIT decodes from: the model's given y, guided at scale
  `guidance` against the null class's when y is given and guidance is not 0."""
  if y is None or guidance == 0.0:
    return model.apply(params, tokens, y)
  both = model.apply(params, jnp.concatenate([tokens, tokens]),
                     jnp.concatenate([y, jnp.full_like(y, model.null_class)]))
  num = tokens.shape[0]
  return guided_logits(both[:num], both[num:], guidance)


def sample(model, params, rng: jax.Array, num: int, y: jax.Array | None = None, *,
           steps: int = 8, temperature: float = 1.0, guidance: float = 0.0,
           choice_temperature: float = 4.5, schedule: str = 'cosine') -> Decoding:
  """Decodes `num` code sequences [num, N] in `steps` steps, with each step's canvas and
  predictions.

  `model` has `num_tokens`, `num_codes` (K, also its mask token) and `null_class`, and
  model.apply(params, tokens [B, N], y) -> logits [B, N, K]; y [num] labels or None.
  OptionError in one line for steps outside 1..N or a temperature that is not positive.
  """
  masked_after_each_step(model.num_tokens, steps, schedule)  # refuses a bad T here
  if not temperature > 0:
    raise OptionError(f'temperature={temperature} must be positive; pass temperature=1.0 '
                      '(the model\'s own distribution) or e.g. 0.5 (sharper).')
  return _decode(model, params, rng, num, y, steps=int(steps), guidance=float(guidance),
                 schedule=schedule, temperature=jnp.float32(temperature),
                 choice_temperature=jnp.float32(choice_temperature))


@functools.partial(jax.jit, static_argnames=('model', 'num', 'steps', 'guidance', 'schedule'))
def _decode(model, params, rng, num, y, *, steps, guidance, schedule, temperature,
            choice_temperature) -> Decoding:
  mask_token = model.num_codes
  keep_masked = jnp.asarray(masked_after_each_step(model.num_tokens, steps, schedule))
  anneal = jnp.asarray(1.0 - np.arange(1, steps + 1) / steps, jnp.float32)

  def step(tokens, inputs):
    t, keep, noise_scale = inputs
    sample_rng, choice_rng = jax.random.split(jax.random.fold_in(rng, t))
    unknown = tokens == mask_token
    logits = model_logits(model, params, tokens, y, guidance)
    drawn = jax.random.categorical(sample_rng, logits / temperature, axis=-1)
    drawn = jnp.where(unknown, drawn, tokens)
    logp = jnp.take_along_axis(jax.nn.log_softmax(logits, axis=-1), drawn[..., None],
                               axis=-1)[..., 0]
    gumbel = jax.random.gumbel(choice_rng, logp.shape)
    confidence = logp + choice_temperature * noise_scale * gumbel
    confidence = jnp.where(unknown, confidence, jnp.inf)  # revealed codes stay revealed
    rank = jnp.argsort(jnp.argsort(confidence, axis=-1), axis=-1)
    canvas = jnp.where(rank < keep, mask_token, drawn)
    return canvas, (canvas, drawn)

  start = jnp.full((num, model.num_tokens), mask_token, jnp.int32)
  codes, (canvases, predictions) = jax.lax.scan(
      step, start, (jnp.arange(steps), keep_masked, anneal))
  return Decoding(codes, canvases, predictions)
