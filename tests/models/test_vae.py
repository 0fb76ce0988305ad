"""VAE models: shapes for every variant, labels for the conditional one."""

import chex
import jax
import jax.numpy as jnp
import pytest

from genjax.distributions import Bernoulli, DiagGaussian
from genjax.models.vae import VAE


@pytest.mark.parametrize('architecture', ['mlp', 'conv'])
@pytest.mark.parametrize('likelihood', ['bernoulli', 'gaussian'])
@pytest.mark.parametrize('num_classes', [0, 10])
def test_shapes(architecture, likelihood, num_classes):
  model = VAE(image_shape=(28, 28, 1), latent_dim=4, hidden=(16,), architecture=architecture,
              conv_channels=(4, 8), likelihood=likelihood, num_classes=num_classes)
  x = jnp.zeros((3, 28, 28, 1))
  y = jnp.arange(3) if num_classes else None
  params = model.init(jax.random.PRNGKey(0), x, y)
  q = model.apply(params, x, y, method=VAE.encode)
  chex.assert_shape([q.mean, q.log_scale], (3, 4))
  z = jnp.zeros((5, 3, 4))  # several samples per example decode in one call
  p = model.apply(params, z, None if y is None else jnp.broadcast_to(y, (5, 3)),
                  method=VAE.decode)
  assert isinstance(p, Bernoulli if likelihood == 'bernoulli' else DiagGaussian)
  chex.assert_shape(p.log_prob(x), (5, 3))


def test_conditional_vae_demands_labels():
  model = VAE(image_shape=(8, 8, 1), latent_dim=2, hidden=(8,), num_classes=10)
  with pytest.raises(ValueError, match='pass labels y'):
    model.init(jax.random.PRNGKey(0), jnp.zeros((1, 8, 8, 1)))


def test_labels_change_the_conditional_decoder():
  model = VAE(image_shape=(8, 8, 1), latent_dim=2, hidden=(8,), num_classes=10)
  params = model.init(jax.random.PRNGKey(0), jnp.zeros((1, 8, 8, 1)), jnp.zeros((1,), int))
  z = jnp.zeros((2, 2))
  logits = model.apply(params, z, jnp.array([0, 7]), method=VAE.decode).logits
  assert not jnp.allclose(logits[0], logits[1])
