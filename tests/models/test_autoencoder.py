"""A linear autoencoder trained to convergence spans PCA's subspace (Baldi & Hornik, 1989)
and reaches its error (Eckart & Young); with weight decay its encoder is the decoder's
transpose (Kunin et al., 2019). Every variant maps images to images, colour ones at CIFAR-10's
and 64x64 sizes."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
import scipy.linalg

from genjax.models import pca
from genjax.models.autoencoder import Autoencoder, decoder_weights, encoder_weights
from genjax.objectives.reconstruction import autoencoder_loss
from tests.numpy_init import numpy_variables

SHAPE = (3, 4, 1)  # 12 "pixels"
K = 3


def _points(n=256, seed=0):
  """Images whose pixel covariance has a clear gap after the K-th eigenvalue."""
  rng = np.random.default_rng(seed)
  d = int(np.prod(SHAPE))
  basis, _ = np.linalg.qr(rng.standard_normal((d, d)))
  scales = np.concatenate([[3.0, 2.0, 1.5], np.geomspace(0.3, 0.05, d - K)])
  x = (rng.standard_normal((n, d)) * scales) @ basis.T
  return jnp.asarray((x - x.mean(0)).reshape((n,) + SHAPE), jnp.float32)


def _train_linear(x, steps, weight_decay=0.0):
  model = Autoencoder(image_shape=SHAPE, code_size=K, hidden=(), output='linear')
  loss_fn = autoencoder_loss(model, 'squared_error')
  schedule = optax.cosine_decay_schedule(3e-2, steps, alpha=1e-3)
  optimizer = optax.chain(optax.add_decayed_weights(weight_decay), optax.adam(schedule))
  params = model.init(jax.random.PRNGKey(0), x[:1])

  @jax.jit
  def run(params):
    def step(carry, _):
      params, opt_state = carry
      grads = jax.grad(lambda p: loss_fn(p, {'image': x}, None)[0])(params)
      updates, opt_state = optimizer.update(grads, opt_state, params)
      return (optax.apply_updates(params, updates), opt_state), None
    (params, _), _ = jax.lax.scan(step, (params, optimizer.init(params)), None, length=steps)
    return params

  params = run(params)
  return params, float(loss_fn(params, {'image': x}, None)[0])


def test_a_converged_linear_autoencoder_spans_the_principal_subspace():
  x = _points()
  params, error = _train_linear(x, steps=5000)
  flat = x.reshape(len(x), -1)
  reference = pca.fit(flat, K)
  angles = scipy.linalg.subspace_angles(np.asarray(decoder_weights(params)).T,
                                        np.asarray(reference['components']).T)
  assert np.max(angles) < 1e-3, angles
  pca_error = float(jnp.mean(jnp.sum((flat - pca.reconstruct(reference, flat))**2, -1)))
  assert error == pytest.approx(pca_error, rel=1e-4)


def test_with_weight_decay_the_encoder_is_the_decoders_transpose():
  params, _ = _train_linear(_points(), steps=4000, weight_decay=0.1)
  encoder, decoder = np.asarray(encoder_weights(params)), np.asarray(decoder_weights(params))
  np.testing.assert_allclose(encoder, decoder.T, atol=1e-3 * np.abs(decoder).max())


@pytest.mark.parametrize('architecture,output', [('mlp', 'sigmoid'), ('conv', 'sigmoid'),
                                                 ('mlp', 'linear')])
def test_every_variant_maps_images_to_images(architecture, output):
  model = Autoencoder(image_shape=(8, 8, 1), code_size=5, hidden=(16,),
                      architecture=architecture, conv_channels=(4, 8), output=output)
  x = jax.random.uniform(jax.random.PRNGKey(0), (3, 8, 8, 1))
  params = model.init(jax.random.PRNGKey(1), x)
  code = model.apply(params, x, method=Autoencoder.encode)
  assert code.shape == (3, 5)
  x_hat = model.apply(params, x, method=Autoencoder.reconstruct)
  assert x_hat.shape == x.shape
  if output == 'sigmoid':
    np.testing.assert_allclose(x_hat, jax.nn.sigmoid(model.apply(params, x)), rtol=1e-6)


@pytest.mark.parametrize('side', [32, 64])
def test_a_conv_autoencoder_reconstructs_colour_at_cifar10_and_64x64_sizes(side):
  model = Autoencoder(image_shape=(side, side, 3), code_size=5, architecture='conv',
                      conv_channels=(4, 8, 8))
  x = jax.random.uniform(jax.random.PRNGKey(0), (2, side, side, 3))
  params = numpy_variables(model, x, scale=0.3)
  assert model.apply(params, x, method=Autoencoder.encode).shape == (2, 5)
  x_hat = model.apply(params, x, method=Autoencoder.reconstruct)
  assert x_hat.shape == x.shape
  assert np.asarray(x_hat).std(axis=-1).max() > 1e-3  # the channels differ
