"""Sampling VAR one scale per step: S sequential steps for L = sum_k p_k^2 tokens.

At scale k the transformer gives the logits of all p_k^2 tokens at once from the
cumulative f_hat of the scales drawn so far; the tokens are drawn with the key
fold_in(rng, k), their codes' phi_k(up(e)) is added to f_hat, and f_hat downsampled to
p_{k+1} is the next scale's input. Two ways to get the logits, with the same draws from
the same key:
- fast: `decode_scale` against the blocks' key/value caches (one scale of work a step);
- naive: the full block-causal forward pass on the inputs so far at every scale (later
  scales' inputs are zeros, which the mask hides: the reference).

Classifier-free guidance (Ho & Salimans, 2022) runs the batch twice, with its labels and
with the null class, and draws from u + w (c - u) of the two logits (w = 1: the
conditional model). w is the same at every scale, or, with `ramp`, VAR's schedule: at
scale k of S, w_k = 1 + (w - 1) k / (S - 1), from the conditional model at the first scale
to w at the last (VAR's t = cfg k / (S - 1) and (1 + t) c - t u, with w = 1 + cfg). Top-k
and top-p (nucleus) filtering apply after guidance.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp

from genjax.models import multiscale_quantizer as multiscale
from genjax.samplers.logit_filters import filter_logits


@functools.partial(jax.jit, static_argnames=('model', 'tokenizer', 'num', 'guidance',
                                             'top_k', 'top_p', 'naive', 'ramp'))
def sample(model, params, tokenizer, stage1_params, stage1_state, rng: jax.Array, num: int,
           y: jax.Array | None = None, guidance: float = 1.0, top_k: int = 0,
           top_p: float = 1.0, naive: bool = False, ramp: bool = False):
  """Draws `num` token sequences [num, L], their f_hat [num, h, h, D], and each drawn
  token's log-probability under the model's conditional p(token | coarser scales, y)
  before guidance and filtering [num, L].

  `tokenizer` is the stage-1 `VQObjective` (its codebook and phi_k); y [num] labels or
  None (the null class); guidance w is used when y is given and w != 1, at every scale or,
  with ramp, rising to it over the scales.
  """
  scales = model.scales
  side = scales[-1]
  codebook = tokenizer.codebook_of(stage1_params, stage1_state)
  phi = tokenizer.phi_fn(stage1_params['net'])
  guided = y is not None and guidance != 1.0
  rows = 2 * num if guided else num
  y_in = jnp.concatenate([y, jnp.full_like(y, model.null_class)]) if guided else y
  twice = (lambda t: jnp.concatenate([t, t])) if guided else (lambda t: t)
  state = None if naive else model.apply(params, rows, method='decode_init')
  f_hat = jnp.zeros((num, side, side, codebook.shape[-1]), codebook.dtype)
  slices = multiscale.scale_slices(scales)
  inputs_so_far, tokens, logps = [], [], []
  for k, p in enumerate(scales):
    inputs = None
    if k > 0:
      inputs = twice(multiscale.downsample(f_hat, p).reshape(num, p * p, -1))
      inputs_so_far.append(inputs)
    if naive:
      length = slices[-1].stop - slices[0].stop
      given = jnp.concatenate(inputs_so_far, axis=1) if inputs_so_far else \
          jnp.zeros((rows, 0, f_hat.shape[-1]), f_hat.dtype)
      pad = jnp.zeros((rows, length - given.shape[1], f_hat.shape[-1]), f_hat.dtype)
      logits = model.apply(params, jnp.concatenate([given, pad], axis=1), y_in)[:, slices[k]]
    else:
      logits, state = model.apply(params, state, inputs, k, y_in, rows,
                                  method='decode_scale')
    conditional = logits[:num]
    if guided:
      w = 1.0 + (guidance - 1.0) * k / max(len(scales) - 1, 1) if ramp else guidance
      logits = logits[num:] + w * (conditional - logits[num:])
    logits = filter_logits(logits, top_k, top_p)
    codes = jax.random.categorical(jax.random.fold_in(rng, k), logits, axis=-1)
    logp = jnp.take_along_axis(jax.nn.log_softmax(conditional, axis=-1), codes[..., None],
                               axis=-1)[..., 0]
    f_hat = f_hat + multiscale.scale_contribution(codes.reshape(num, p, p), codebook, side,
                                                  k, phi)
    tokens.append(codes.astype(jnp.int32))
    logps.append(logp)
  return jnp.concatenate(tokens, axis=1), f_hat, jnp.concatenate(logps, axis=1)
