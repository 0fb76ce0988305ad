"""Every family that models images draws them through `Inference.sample`: n images of the
data's shape in [0, 1], a function of its key alone."""

import importlib

import jax
import numpy as np
import pytest

from genjax.training.family import StepContext

IMAGE_FAMILIES = ('vae', 'autoregressive', 'diffusion', 'gan', 'glow', 'gmm', 'vqvae')


def _built(name):
  family_def = importlib.import_module(f'genjax.families.{name}').FAMILY
  config = importlib.import_module(f'configs.{name}').get_config('smoke')
  data = family_def.data(config, 0, 1)
  family = family_def.build(config, data.info)
  batch, rng = data.train.batch(0), jax.random.PRNGKey(0)
  params = family.training.init_params(rng, batch)
  init_state = family.training.init_model_state
  model_state = init_state(jax.random.fold_in(rng, 1), batch, params) if init_state else None
  return family, data, params, StepContext(model_state=model_state,
                                           frozen=family.training.frozen)


@pytest.mark.slow
@pytest.mark.parametrize('name', IMAGE_FAMILIES)
def test_samples_are_images_of_the_data_and_a_function_of_the_key(name):
  family, data, params, context = _built(name)
  draw = lambda seed, n: np.asarray(family.inference.sample(params, jax.random.PRNGKey(seed),
                                                            n, context))
  samples = draw(1, 5)
  # A mixture over PCA features draws them mapped back to pixels.
  image_shape = (data.info.features.image_shape if data.info.features is not None
                 else data.info.example_shape)
  assert samples.shape == (5, *image_shape)
  assert np.all(np.isfinite(samples)) and samples.min() >= 0.0 and samples.max() <= 1.0
  np.testing.assert_array_equal(draw(1, 5), samples)
  assert not np.array_equal(draw(2, 5), samples)


def test_gmm_samples_average_to_the_mixture_mean():
  # k-means responsibilities make the initial mixture's mean the data's mean exactly.
  family, data, params, context = _built('gmm')
  samples = np.asarray(family.inference.sample(params, jax.random.PRNGKey(3), 20000, context))
  images = data.info.features.to_images(data.info.features.train)
  np.testing.assert_allclose(samples.mean(0), images.mean(0), atol=0.05)



def test_a_character_model_samples_windows_of_text_in_its_vocabulary():
  family, data, params, context = _built('char_lm')
  texts = family.inference.sample(params, jax.random.PRNGKey(1), 3, context)
  vocabulary = data.info.held_out.vocabulary
  window = data.info.example_shape[1]
  assert len(texts) == 3 and all(len(t) == window for t in texts)
  assert all(set(t) <= set(vocabulary.chars) for t in texts)
  again = family.inference.sample(params, jax.random.PRNGKey(1), 3, context)
  assert list(again) == list(texts)
