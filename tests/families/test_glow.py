"""The glow family's refusals (what it cannot model ends in one line naming the fix), its
CIFAR-10 model, and its colour smoke run."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from configs import glow as glow_config
from genjax.config import ConfigError
from genjax.families import glow
from genjax.data import info_file
from genjax.data.family_data import DataInfo
from genjax.training.family import StepContext
from tests.families.run_config import unlocked


def test_more_levels_than_the_sides_halve_names_the_fix():
  config = unlocked(glow_config, 'smoke', model=dict(levels=4))
  with pytest.raises(ConfigError, match='--config.model.levels') as raised:
    glow.build(config, DataInfo(num_train=1, example_shape=(8, 8, 1)))
  assert '\n' not in str(raised.value)


def test_binarised_data_is_refused():
  config = unlocked(glow_config, 'smoke', data=dict(binarize='dynamic'))
  with pytest.raises(ConfigError, match='--config.data.binarize=none'):
    glow.check_config(config)


def test_the_cifar10_variant_is_glows_three_levels_of_32_affine_steps():
  """Shapes only (eval_shape): nothing is allocated or computed."""
  c = glow_config.get_config('cifar10')
  assert (c.data.name, c.batch_size, c.optimizer.learning_rate) == ('cifar10', 512, 1e-3)
  model = glow.make_model(c.model, (32, 32, 3))
  assert (model.levels, model.steps, model.hidden, model.coupling) == (3, 32, 512, 'affine')
  assert model.latent_shapes == [(16, 16, 6), (8, 8, 12), (4, 4, 48)]
  shapes = jax.eval_shape(model.init, jax.random.PRNGKey(0), jnp.zeros((2, 32, 32, 3)))
  assert len([k for k in shapes['params'] if k.endswith('_step31')]) == 3
  count = sum(math.prod(s.shape) for s in jax.tree.leaves(shapes))
  assert 40e6 < count < 48e6, count  # three levels of 512-wide couplings, about 44M


def test_an_additive_model_has_its_own_signature_and_an_affine_one_the_old(digits_info):
  affine = glow.build(glow_config.get_config('smoke'), digits_info)
  additive = glow.build(glow_config.get_config('smoke,additive'), digits_info)
  assert 'coupling' not in affine.signature['model']  # as runs saved before the field
  assert additive.signature['model']['coupling'] == 'additive'


# Inference: what `genjax.load` offers of a Glow.


def _built(tmp_path=None):
  """The smoke family, its data and init params; with tmp_path also the family built from
  the data description a run saves (no test images)."""
  config = glow_config.get_config('smoke')
  data = glow.FAMILY.data(config, 0, 1)
  family = glow.build(config, data.info)
  params = family.training.init_params(jax.random.PRNGKey(0), data.train.batch(0))
  light = None
  if tmp_path is not None:
    info_file.write(data.info, str(tmp_path))
    light = glow.build(config, info_file.read(str(tmp_path)))
  batch = next(iter(data.splits['test'](16, 0, 1, 16)))
  batch.pop('mask')
  return family, params, batch, light


def _nll(family, batch, rng, params):
  nll = family.inference.likelihood.nll
  return np.asarray(jax.jit(lambda p, b, r: nll(p, b, r, StepContext()))(params, batch, rng))


def test_inference_built_without_the_data_is_the_same(tmp_path):
  family, params, batch, light = _built(tmp_path)
  assert light.reporting.artifacts_fn is None and family.reporting.artifacts_fn is not None
  key, context = jax.random.PRNGKey(2), StepContext()
  for f in (family, light):
    assert f.inference.sample_options == {'temperature': 1.0}
  for options in ({}, {'temperature': 0.5}):
    np.testing.assert_array_equal(light.inference.sample(params, key, 4, context, **options),
                                  family.inference.sample(params, key, 4, context, **options))
  np.testing.assert_array_equal(_nll(light, batch, key, params),
                                _nll(family, batch, key, params))
  latents = family.inference.encode(params, batch, key, context)
  for a, b in zip(latents, light.inference.encode(params, batch, key, context)):
    np.testing.assert_array_equal(a, b)
  np.testing.assert_array_equal(light.inference.decode(params, latents, context),
                                family.inference.decode(params, latents, context))


def test_the_likelihood_is_the_evals_bits_per_dim_in_nats():
  family, params, batch, _ = _built()
  likelihood = family.inference.likelihood
  assert likelihood.exact and likelihood.dims == 8 * 8 * 1 and likelihood.options == {}
  rng = jax.random.PRNGKey(7)
  nats = _nll(family, batch, rng, params)
  evaluated = family.reporting.eval_fn(params, batch, rng, StepContext())
  np.testing.assert_allclose(nats / (likelihood.dims * math.log(2)),
                             evaluated['bits_per_dim'], rtol=1e-5)
  # The key draws the dequantisation noise.
  assert not np.allclose(_nll(family, batch, jax.random.PRNGKey(8), params), nats)


def test_decode_inverts_encode_and_temperature_scales_the_latents():
  family, params, batch, _ = _built()
  inference, context, key = family.inference, StepContext(), jax.random.PRNGKey(3)
  latents = inference.encode(params, batch, key, context)
  model = glow.make_model(glow_config.get_config('smoke').model, (8, 8, 1))
  assert [z.shape[1:] for z in latents] == model.latent_shapes
  back = np.asarray(inference.decode(params, latents, context))
  # The dequantised image y = (x + u) / 256 itself, so within a grey level of x.
  y = np.asarray(glow.to_glow_input(jnp.asarray(batch['image']), key)) + 0.5
  np.testing.assert_allclose(back, y, atol=1e-4)
  np.testing.assert_allclose(back, batch['image'], atol=1 / 255 + 1e-4)

  sample = lambda seed, **options: np.asarray(inference.sample(
      params, jax.random.PRNGKey(seed), 64, context, **options))
  np.testing.assert_array_equal(sample(1), sample(1))
  assert not np.array_equal(sample(2), sample(1))
  # The model's own sampler at that temperature; at 0 the prior's means, whatever the key.
  direct = model.apply(params, jax.random.PRNGKey(1), 64, 0.6, method=model.sample)
  np.testing.assert_allclose(sample(1, temperature=0.6),
                             np.clip(np.asarray(direct) + 0.5, 0, 1), atol=1e-6)
  np.testing.assert_allclose(sample(1, temperature=0.0), sample(2, temperature=0.0),
                             atol=1e-6)
  spread = lambda t: sample(1, temperature=t).std(0).mean()
  assert spread(0.0) < 1e-6 < spread(0.3) < spread(1.0)
