"""Optimisers from the config's `optimizer` section."""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import jax.numpy as jnp
import ml_collections
import optax

from genjax.config import ConfigError


def _adam_fields(c) -> dict[str, Any]:
  # configs saved before the fields existed lack them
  return {'b1': c.get('beta1', 0.9), 'b2': c.get('beta2', 0.999),
          'mu_dtype': jnp.dtype(c.get('moment_dtype', 'float32'))}


_OPTIMIZERS = {
    'adam': lambda c, lr: optax.adam(lr, **_adam_fields(c)),
    'adamw': lambda c, lr: optax.adamw(lr, weight_decay=c.weight_decay, **_adam_fields(c)),
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
    raise ConfigError(f'optimizer.warmup_steps must be >= 0, got {warmup}.')
  if not warmup:
    return c.learning_rate
  return optax.linear_schedule(0.0, c.learning_rate, transition_steps=warmup)


def make_optimizer(c: ml_collections.ConfigDict) -> optax.GradientTransformation:
  if c.name not in _OPTIMIZERS:
    raise ConfigError(f"Unknown optimizer '{c.name}'; choose one of {sorted(_OPTIMIZERS)} "
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


def _is_transform(optimizer) -> bool:
  return isinstance(optimizer, optax.GradientTransformation)


def _check_networks(optimizer: Mapping[str, Any], params) -> None:
  if not isinstance(params, Mapping) or set(optimizer) != set(params):
    got = sorted(params) if isinstance(params, Mapping) else type(params).__name__
    raise ValueError(f'A dict of optimisers needs params with the same top-level keys: '
                     f'optimisers for {sorted(optimizer)}, params {got}.')


def init_optimizer_state(optimizer, params):
  """The optimiser state of `params`: one state per network for a dict of transforms.

  Args:
    optimizer: an optax transform, a dict of them keyed like `params`' top level (one per
      network, e.g. {'generator': adam, 'discriminator': adam}), or None (no gradient).
    params: the params pytree.

  Returns:
    optax.EmptyState() for None, the transform's state, or a dict of per-network states.
  """
  if optimizer is None:
    return optax.EmptyState()
  if _is_transform(optimizer):
    return optimizer.init(params)
  _check_networks(optimizer, params)
  return {name: init_optimizer_state(optimizer[name], params[name]) for name in optimizer}


def apply_optimizer(optimizer, grads, opt_state, params, *, only: Sequence[str] | None = None):
  """One optimiser step: (new params, new optimiser state).

  With a dict of transforms each network is stepped with its own optimiser and state, and
  `only` names the networks to step (a GAN's D-only step: only=('discriminator',)); the
  others, params and optimiser state alike, are returned as they came, bitwise. `grads`
  needs entries only for the networks stepped.
  """
  if _is_transform(optimizer):
    if only is not None:
      raise ValueError('`only` names networks; it needs a dict of optimisers.')
    updates, opt_state = optimizer.update(grads, opt_state, params)
    return optax.apply_updates(params, updates), opt_state
  _check_networks(optimizer, params)
  unknown = set(only or ()) - set(optimizer)
  if unknown:
    raise ValueError(f'No optimiser for {sorted(unknown)}; networks: {sorted(optimizer)}.')
  new_params, new_state = dict(params), dict(opt_state)
  for name in (optimizer if only is None else only):
    new_params[name], new_state[name] = apply_optimizer(
        optimizer[name], grads[name], opt_state[name], params[name])
  return new_params, new_state
