"""A toy GAN on 2-D points: two networks, two optimisers, alternating updates in one step.

The discriminator half-step and the generator half-step each update one network with its
own Adam; either alone leaves the other network and its optimiser state untouched.
"""

from __future__ import annotations

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import optax

from genjax.training.family import Family, FamilyDef, Inference, Reporting, Training
from genjax.training.optimizers import apply_optimizer
from tests.training.toys import common

NOISE_DIM = 2


class MLP(nn.Module):
  features: tuple[int, ...]

  @nn.compact
  def __call__(self, x):
    for f in self.features[:-1]:
      x = nn.relu(nn.Dense(f)(x))
    return nn.Dense(self.features[-1])(x)


def ring_of_gaussians(n: int, seed: int) -> np.ndarray:
  """n points from 4 Gaussians of std 0.05 on the unit circle."""
  rng = np.random.default_rng(seed)
  angles = rng.integers(0, 4, n) * np.pi / 2
  centres = np.stack([np.cos(angles), np.sin(angles)], 1)
  return (centres + 0.05 * rng.standard_normal((n, 2))).astype(np.float32)


def schema():
  return common.schema(model=dict(hidden=16, d_learning_rate=1e-2, g_learning_rate=1e-2),
                       data=dict(num_train=256, num_test=64))


def data(config, process_index, process_count):
  return common.array_data(
      config, {'x': ring_of_gaussians(config.data.num_train, 1)},
      {'x': ring_of_gaussians(config.data.num_test, 2)}, process_index, process_count,
      example_shape=(2,))


class ToyGAN:
  """The two networks, their optimisers and the two half-steps, from the config."""

  def __init__(self, config):
    m = config.model
    self.generator = MLP((m.hidden, m.hidden, 2))
    self.discriminator = MLP((m.hidden, m.hidden, 1))
    self.optimizer = {'generator': optax.adam(m.g_learning_rate),
                      'discriminator': optax.adam(m.d_learning_rate)}

  def init_params(self, rng, batch):
    g_rng, d_rng = jax.random.split(rng)
    return {'generator': self.generator.init(g_rng, jnp.zeros((1, NOISE_DIM))),
            'discriminator': self.discriminator.init(d_rng, jnp.asarray(batch['x'][:1]))}

  def fake(self, g_params, rng, n):
    return self.generator.apply(g_params, jax.random.normal(rng, (n, NOISE_DIM)))

  def d_loss(self, d_params, g_params, x, rng):
    real = self.discriminator.apply(d_params, x)
    forged = self.discriminator.apply(d_params,
                                      jax.lax.stop_gradient(self.fake(g_params, rng, len(x))))
    return jnp.mean(optax.sigmoid_binary_cross_entropy(real, 1.0)
                    + optax.sigmoid_binary_cross_entropy(forged, 0.0))

  def g_loss(self, g_params, d_params, n, rng):  # the non-saturating loss, -log D(G(z))
    logits = self.discriminator.apply(d_params, self.fake(g_params, rng, n))
    return jnp.mean(optax.sigmoid_binary_cross_entropy(logits, 1.0))

  def discriminator_step(self, state, batch, rng):
    p = state.params
    loss, grad = jax.value_and_grad(self.d_loss)(p['discriminator'], p['generator'],
                                                 batch['x'], rng)
    params, opt_state = apply_optimizer(self.optimizer, {'discriminator': grad},
                                        state.opt_state, p, only=('discriminator',))
    return state.replace(params=params, opt_state=opt_state), loss

  def generator_step(self, state, n, rng):
    p = state.params
    loss, grad = jax.value_and_grad(self.g_loss)(p['generator'], p['discriminator'], n, rng)
    params, opt_state = apply_optimizer(self.optimizer, {'generator': grad}, state.opt_state,
                                        p, only=('generator',))
    return state.replace(params=params, opt_state=opt_state), loss

  def update_fn(self, state, batch, rng, frozen):
    del frozen
    d_rng, g_rng = jax.random.split(rng)
    state, loss_d = self.discriminator_step(state, batch, d_rng)
    state, loss_g = self.generator_step(state, len(batch['x']), g_rng)
    return state, {'loss': loss_d + loss_g, 'd_loss': loss_d, 'g_loss': loss_g}


def build(config, info) -> Family:
  del info
  gan = ToyGAN(config)

  def eval_fn(params, batch, rng, context):
    del rng, context
    return {'d_real_logit': gan.discriminator.apply(params['discriminator'], batch['x'])[:, 0]}

  def sample(params, rng, num_samples, context):
    del context
    return gan.fake(params['generator'], rng, num_samples)

  return Family(name='toy_gan', signature={'model': config.model.to_dict()},
                training=Training(init_params=gan.init_params, update_fn=gan.update_fn,
                                  make_optimizer=lambda: gan.optimizer),
                reporting=Reporting(
                    eval_fn=eval_fn,
                    artifacts_fn=lambda params, rng, context: {
                        'samples': sample(params, rng, 64, context)}),
                inference=Inference(sample=sample))


FAMILY = FamilyDef(name='toy_gan', schema=schema, build=build, data=data)
