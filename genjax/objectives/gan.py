"""The GAN game of Goodfellow et al. (2014) on the discriminator's logits.

    V(D, G) = E_x log D(x) + E_z log(1 - D(G(z))),   D = sigmoid(logit)

D maximises V; written on logits, -log D = softplus(-logit) and -log(1 - D) =
softplus(logit), which stay finite where a sigmoid followed by a log would not (the BCE
on a sigmoid output that ganhacks #67 warns of). G minimises either
- 'minimax': E log(1 - D(G(z))) = -E softplus(logit), the game itself, whose gradient in
  the logit is -D(G(z)): it vanishes when D rejects the samples, early in training; or
- 'non_saturating': -E log D(G(z)) = E softplus(-logit), the paper's fix, with gradient
  -(1 - D(G(z))): largest exactly there.
For fixed G the best D is p_d / (p_d + p_g), and V(D*, G) = -log 4 + 2 JSD(p_d || p_g).

R1 (Mescheder et al., 2018): (gamma / 2) E_x ||grad_x logit(x)||^2 on real data.
"""

from __future__ import annotations

from typing import Callable

import jax
import jax.numpy as jnp

GENERATOR_LOSSES = ('non_saturating', 'minimax')


def discriminator_loss(real_logits: jax.Array, fake_logits: jax.Array) -> jax.Array:
  """-V: the mean binary cross-entropy of real as 1 and fake as 0, from logits."""
  return jnp.mean(jax.nn.softplus(-real_logits)) + jnp.mean(jax.nn.softplus(fake_logits))


def value(real_logits: jax.Array, fake_logits: jax.Array) -> jax.Array:
  """V(D, G) estimated on the two batches."""
  return -discriminator_loss(real_logits, fake_logits)


def generator_loss(fake_logits: jax.Array, kind: str = 'non_saturating') -> jax.Array:
  """G's loss on D's logits of its samples: 'non_saturating' or 'minimax'."""
  if kind == 'non_saturating':
    return jnp.mean(jax.nn.softplus(-fake_logits))
  if kind == 'minimax':
    return -jnp.mean(jax.nn.softplus(fake_logits))
  raise ValueError(f'Unknown generator loss {kind!r}; choose one of {GENERATOR_LOSSES}.')


def r1_penalty(logit_fn: Callable[[jax.Array], tuple[jax.Array, object]], x: jax.Array
               ) -> tuple[jax.Array, tuple[jax.Array, object]]:
  """(E ||grad_x logit(x)||^2 / 2, (logits, aux)) for logit_fn: x -> (logits [B], aux).

  Each logit depends on its own example only through its path (BatchNorm in train mode
  couples a batch, negligibly at batch 64), so the gradient of the summed logits is the
  per-example input gradient.
  """
  def summed(x):
    logits, aux = logit_fn(x)
    return jnp.sum(logits), (logits, aux)

  grad, out = jax.grad(summed, has_aux=True)(x)
  return 0.5 * jnp.mean(jnp.sum(jnp.square(grad.reshape(len(x), -1)), axis=-1)), out
