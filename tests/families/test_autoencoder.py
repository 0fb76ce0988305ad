"""The autoencoder family trains and resumes through the one loop, in every variant."""

import functools
import json

import jax
import numpy as np
import pytest

from configs import autoencoder as ae_config
from genjax.config import ConfigError
from genjax.families import autoencoder as ae_family
from genjax.training.loop import check_family, train_and_evaluate
from genjax.training.restore import load_run
from tests.families.run_config import unlocked

_config = functools.partial(unlocked, ae_config)


@pytest.mark.slow
def test_training_is_the_same_stopped_and_resumed(tmp_path):
  straight, resumed = str(tmp_path / 'straight'), str(tmp_path / 'resumed')
  final = train_and_evaluate(ae_family.FAMILY, _config(), straight)
  train_and_evaluate(ae_family.FAMILY, _config(total_steps=4), resumed)
  assert train_and_evaluate(ae_family.FAMILY, _config(), resumed) == final
  a, b = load_run(straight, family='autoencoder'), load_run(resumed)
  assert a.step == b.step == 8
  jax.tree.map(np.testing.assert_array_equal, a.params, b.params)
  rows = [json.loads(line) for line in open(tmp_path / 'straight' / 'metrics.jsonl')]
  test = [r for r in rows if r['split'] == 'test']
  assert test[-1]['squared_error'] < test[0]['squared_error']  # it learns
  assert test[-1]['mse'] == pytest.approx(test[-1]['squared_error'] / 64, rel=1e-5)


@pytest.mark.slow
def test_the_conv_bernoulli_variant_trains_on_binarised_digits(tmp_path):
  final = train_and_evaluate(ae_family.FAMILY, _config('smoke,conv,bernoulli'), str(tmp_path))
  assert {'bernoulli_nll', 'squared_error', 'mse'} <= set(final)
  assert 0 < final['squared_error'] < final['bernoulli_nll']


def test_a_bernoulli_loss_with_a_linear_output_is_refused(tmp_path):
  c = _config('smoke,linear,bernoulli')
  with pytest.raises(ConfigError, match='--config.model.output=sigmoid'):
    train_and_evaluate(ae_family.FAMILY, c, str(tmp_path))


@pytest.mark.parametrize('arg', ['', 'conv', 'linear', 'bernoulli', 'mnist', 'k2', 'k50',
                                 'cifar10', 'cifar10_smoke'])
def test_every_variant_validates(arg):
  check_family(ae_config.get_config(arg), ae_family.FAMILY)


@pytest.mark.parametrize('arg', ['smoke', 'smoke,linear'])
def test_built_without_the_data_it_encodes_decodes_and_evaluates_as_with_it(arg, tmp_path):
  from genjax.data import info_file  # pylint: disable=g-import-not-at-top
  from genjax.models.autoencoder import Autoencoder  # pylint: disable=g-import-not-at-top
  from genjax.training.family import StepContext  # pylint: disable=g-import-not-at-top
  config = _config(arg)
  data = ae_family.FAMILY.data(config, 0, 1)
  info_file.write(data.info, str(tmp_path))
  full = ae_family.build(config, data.info)
  light = ae_family.build(config, info_file.read(str(tmp_path)))
  assert light.reporting.artifacts_fn is None and full.reporting.artifacts_fn is not None
  # Not a generative model: nothing to sample or score.
  assert light.inference.sample is None and light.inference.likelihood is None
  rng, context = jax.random.PRNGKey(0), StepContext()
  params = full.training.init_params(rng, data.train.batch(0))
  batch = next(iter(data.splits['test'](32, 0, 1, 32)))
  batch.pop('mask')
  codes = np.asarray(light.inference.encode(params, batch, rng, context))
  assert codes.shape == (32, config.model.code_size)
  np.testing.assert_array_equal(codes, full.inference.encode(params, batch, rng, context))
  images = np.asarray(light.inference.decode(params, codes, context))
  np.testing.assert_array_equal(images, full.inference.decode(params, codes, context))
  # decode(encode(x)) is the model's reconstruction, clipped to the images' [0, 1].
  model = Autoencoder(image_shape=data.info.image_shape, code_size=config.model.code_size,
                      hidden=tuple(config.model.hidden), activation=config.model.activation,
                      architecture=config.model.architecture,
                      conv_channels=tuple(config.model.conv_channels),
                      output=config.model.output)
  recon = np.asarray(model.apply(params, batch['image'], method=Autoencoder.reconstruct))
  np.testing.assert_allclose(images, np.clip(recon, 0, 1), atol=1e-6)
  assert images.shape == batch['image'].shape and 0 <= images.min() <= images.max() <= 1
  jax.tree.map(np.testing.assert_array_equal,
               light.reporting.eval_fn(params, batch, rng, context),
               full.reporting.eval_fn(params, batch, rng, context))
