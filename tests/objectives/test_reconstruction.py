"""Reconstruction errors and the autoencoder's losses, against NumPy by hand."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from genjax.models.autoencoder import Autoencoder
from genjax.objectives import reconstruction as obj


def test_squared_error_is_summed_over_pixels_and_mse_averaged():
  rng = np.random.default_rng(0)
  x, x_hat = rng.random((2, 4, 3, 3, 1)).astype(np.float32)
  errors = obj.reconstruction_errors(jnp.asarray(x), jnp.asarray(x_hat))
  by_hand = ((x - x_hat)**2).reshape(4, -1)
  np.testing.assert_allclose(errors['squared_error'], by_hand.sum(1), rtol=1e-6)
  np.testing.assert_allclose(errors['mse'], by_hand.mean(1), rtol=1e-6)


def test_bernoulli_nll_is_the_cross_entropy_of_the_sigmoid():
  rng = np.random.default_rng(1)
  x = (rng.random((3, 2, 2, 1)) < 0.5).astype(np.float32)
  logits = rng.standard_normal((3, 2, 2, 1)).astype(np.float32)
  p = 1 / (1 + np.exp(-logits))
  by_hand = -(x * np.log(p) + (1 - x) * np.log(1 - p)).reshape(3, -1).sum(1)
  np.testing.assert_allclose(obj.bernoulli_nll(jnp.asarray(x), jnp.asarray(logits)), by_hand,
                             rtol=1e-5)


@pytest.mark.parametrize('loss,key', [('squared_error', 'squared_error'),
                                      ('bernoulli', 'bernoulli_nll')])
def test_the_loss_is_the_batch_mean_of_its_per_image_term(loss, key):
  model = Autoencoder(image_shape=(4, 4, 1), code_size=2, hidden=(8,))
  x = (jax.random.uniform(jax.random.PRNGKey(0), (5, 4, 4, 1)) < 0.5).astype(jnp.float32)
  params = model.init(jax.random.PRNGKey(1), x)
  value, aux = obj.autoencoder_loss(model, loss)(params, {'image': x}, None)
  terms = obj.autoencoder_terms(model, params, x, loss)
  np.testing.assert_allclose(value, np.mean(terms[key]), rtol=1e-6)
  assert set(aux) == set(terms)
