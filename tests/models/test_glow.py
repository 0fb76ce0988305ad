"""Glow's multi-scale flow as math: the whole flow inverts exactly, its log-determinant is
slogdet of the Jacobian from the image to its latents, and log p(x) is that plus the base."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from genjax.models.glow import Glow, gaussian_log_prob
from tests.numpy_init import numpy_variables


def _glow(shape=(4, 4, 1), seed=0, scale=0.1, levels=2, coupling='affine'):
  model = Glow(image_shape=shape, levels=levels, steps=2, hidden=8, coupling=coupling)
  x = jnp.asarray(np.random.default_rng(seed).normal(size=(3,) + shape), jnp.float32)
  return model, numpy_variables(model, x, seed=seed, scale=scale), x


def test_the_whole_flow_inverts_exactly_and_its_latents_have_the_stated_shapes():
  model, params, x = _glow((8, 8, 1))
  latents = jax.jit(lambda p, x: model.apply(p, x, method=Glow.encode))(params, x)
  assert [z.shape[1:] for z in latents] == model.latent_shapes == [(4, 4, 2), (2, 2, 8)]
  back = jax.jit(lambda p, z: model.apply(p, z, method=Glow.decode))(params, latents)
  np.testing.assert_allclose(back, x, atol=1e-5)


@pytest.mark.parametrize('coupling', ['affine', 'additive'])
def test_three_levels_of_colour_invert_exactly_with_glows_latent_shapes(coupling):
  """Each level squeezes what the last kept: 8x8x3 -> 4x4x12 (6 out) -> 2x2x24 (12 out) ->
  1x1x48, as 32x32x3 CIFAR-10 images go to 16x16x6, 8x8x12 and 4x4x48."""
  model, params, x = _glow((8, 8, 3), levels=3, coupling=coupling)
  assert model.latent_shapes == [(4, 4, 6), (2, 2, 12), (1, 1, 48)]
  assert Glow(image_shape=(32, 32, 3), levels=3).latent_shapes == [
      (16, 16, 6), (8, 8, 12), (4, 4, 48)]
  latents = jax.jit(lambda p, x: model.apply(p, x, method=Glow.encode))(params, x)
  assert [z.shape[1:] for z in latents] == model.latent_shapes
  back = jax.jit(lambda p, z: model.apply(p, z, method=Glow.decode))(params, latents)
  np.testing.assert_allclose(back, x, atol=1e-5)
  samples = jax.jit(lambda p, k: model.apply(p, k, 2, 1.0, method=Glow.sample))(
      params, jax.random.PRNGKey(0))
  assert samples.shape == (2, 8, 8, 3)


def test_log_p_is_the_base_density_plus_slogdet_of_the_image_to_latents_jacobian():
  model, params, x = _glow((4, 4, 1), seed=1)  # D = 16
  x = x[:1]

  def to_latents(v):
    latents = model.apply(params, v.reshape(x.shape), method=Glow.encode)
    return jnp.concatenate([z.reshape(-1) for z in latents])

  sign, logabs = jnp.linalg.slogdet(jax.jit(jax.jacfwd(to_latents))(x.reshape(-1)))
  assert sign != 0
  latents, log_base, logdet = jax.jit(lambda p, x: model.apply(p, x, method=Glow.forward))(
      params, x)
  np.testing.assert_allclose(logdet[0], logabs, rtol=1e-4, atol=1e-4)
  np.testing.assert_allclose(jax.jit(model.apply)(params, x)[0], log_base[0] + logdet[0],
                             rtol=1e-5)
  # The top latent's base density is its learned Gaussian.
  top = gaussian_log_prob(latents[-1], params['params']['top_mean'][None],
                          params['params']['top_log_std'][None])
  assert np.isfinite(top).all()


def test_samples_at_temperature_zero_are_the_decoded_means_whatever_the_key():
  model, params, _ = _glow((8, 8, 1), seed=2)
  draw = jax.jit(lambda key, t: model.apply(params, key, 2, t, method=Glow.sample))
  a, b = draw(jax.random.PRNGKey(0), 0.0), draw(jax.random.PRNGKey(1), 0.0)
  np.testing.assert_allclose(a, b, atol=1e-6)
  c = draw(jax.random.PRNGKey(1), 1.0)
  assert np.abs(np.asarray(c - b)).max() > 1e-2
