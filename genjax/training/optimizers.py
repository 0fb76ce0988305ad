"""Optimisers from the config's `optimizer` section."""

from __future__ import annotations

import ml_collections
import optax

_OPTIMIZERS = {
    'adam': lambda c, lr: optax.adam(lr),
    'adamw': lambda c, lr: optax.adamw(lr, weight_decay=c.weight_decay),
    'adagrad': lambda c, lr: optax.adagrad(lr),
    'sgd': lambda c, lr: optax.sgd(lr),
}


def learning_rate(c: ml_collections.ConfigDict) -> float | optax.Schedule:
  """The constant rate, or a linear ramp from 0 over `warmup_steps` then constant.

  Ho et al. (2020) warm up for 5000 steps (their released CIFAR-10 script). Without warmup
  the rate stays a float, so the optimiser state (and old checkpoints) keep their layout.
  """
  warmup = c.get('warmup_steps', 0)  # configs saved before the field existed lack it
  if warmup < 0:
    raise ValueError(f'optimizer.warmup_steps must be >= 0, got {warmup}.')
  if not warmup:
    return c.learning_rate
  return optax.linear_schedule(0.0, c.learning_rate, transition_steps=warmup)


def make_optimizer(c: ml_collections.ConfigDict) -> optax.GradientTransformation:
  if c.name not in _OPTIMIZERS:
    raise ValueError(f"Unknown optimizer '{c.name}'; choose one of {sorted(_OPTIMIZERS)} "
                     'with --config.optimizer.name.')
  parts = []
  if c.grad_clip_norm > 0:
    parts.append(optax.clip_by_global_norm(c.grad_clip_norm))
  # adamw has decoupled decay built in; the others get L2 decay added to the gradient,
  # the "small weight decay" of Kingma & Welling.
  if c.weight_decay > 0 and c.name != 'adamw':
    parts.append(optax.add_decayed_weights(c.weight_decay))
  parts.append(_OPTIMIZERS[c.name](c, learning_rate(c)))
  return optax.chain(*parts) if len(parts) > 1 else parts[0]
