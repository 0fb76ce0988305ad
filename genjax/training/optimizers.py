"""Optimisers from the config's `optimizer` section."""

from __future__ import annotations

import ml_collections
import optax

_OPTIMIZERS = {
    'adam': lambda c: optax.adam(c.learning_rate),
    'adamw': lambda c: optax.adamw(c.learning_rate, weight_decay=c.weight_decay),
    'adagrad': lambda c: optax.adagrad(c.learning_rate),
    'sgd': lambda c: optax.sgd(c.learning_rate),
}


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
  parts.append(_OPTIMIZERS[c.name](c))
  return optax.chain(*parts) if len(parts) > 1 else parts[0]
