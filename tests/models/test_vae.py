"""VAE models: shapes for every variant, labels for the conditional one, colour images."""

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import stats

from genjax.distributions import Bernoulli, DiagGaussian
from genjax.models.vae import VAE
from tests.numpy_init import numpy_variables


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


@pytest.mark.parametrize('side', [32, 64])
def test_a_conv_gaussian_vae_models_every_colour_value_at_cifar10_and_64x64_sizes(side):
  """Three stride-2 layers (side -> side/8 and back); the decoder's density is a sum over
  all H*W*3 values, each with its own mean and scale."""
  model = VAE(image_shape=(side, side, 3), latent_dim=4, architecture='conv',
              conv_channels=(4, 8, 8), likelihood='gaussian')
  x = jax.random.uniform(jax.random.PRNGKey(0), (2, side, side, 3))
  params = numpy_variables(model, x, scale=0.3)
  q = model.apply(params, x, method=VAE.encode)
  p = model.apply(params, q.mean, method=VAE.decode)
  chex.assert_shape([p.mean, p.log_scale], (2, side, side, 3))
  assert np.asarray(p.mean).std(axis=-1).max() > 1e-3  # the channels differ
  expected = stats.norm.logpdf(np.asarray(x), np.asarray(p.mean),
                               np.exp(np.asarray(p.log_scale))).reshape(2, -1).sum(-1)
  np.testing.assert_allclose(p.log_prob(x), expected, rtol=1e-5)
