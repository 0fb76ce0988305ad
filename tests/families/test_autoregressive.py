"""The autoregressive family: configs validate, bad combinations fail early, and every
architecture's smoke variant trains end to end through the one loop."""

import json
import os

import numpy as np
import pytest

from configs import autoregressive as ar_config
from genjax import config as config_lib
from genjax.families import autoregressive
from genjax.training.loop import train_and_evaluate
from tests.families.colour_data import fake_splits

ARCHS = ['pixelcnn', 'gated', 'transformer', 'lstm']
MODIFIERS = ['', 'smoke', 'cond', 'sinusoidal', 'gray8', 'mnist', 'naive', 'cifar10',
             'cifar10_smoke', 'pixelcnnpp', 'pixelcnnpp_smoke']


@pytest.mark.parametrize('arch', ARCHS)
def test_variants_validate(arch):
  for modifier in MODIFIERS:
    c = ar_config.get_config(','.join(filter(None, (arch, modifier))))
    config_lib.validate(c, autoregressive.schema(), ranges=autoregressive.RANGES)
    assert (c.data.binarize == 'none') == (c.model.likelihood != 'bernoulli')


def test_gated_cifar10_is_the_papers_network_and_its_smoke_keeps_the_data():
  c = ar_config.get_config('gated,cifar10')
  assert (c.model.architecture, c.model.num_layers + 1, c.model.channels, c.model.kernel,
          c.batch_size) == ('gated_pixelcnn', 20, 384, 5, 128)
  assert (c.data.name, c.data.channels, c.model.likelihood) == ('cifar10', 3, 'categorical')
  smoke = ar_config.get_config('gated,cifar10_smoke')
  assert smoke.model.architecture == 'gated_pixelcnn' and smoke.model.channels <= 8
  assert (smoke.data.name, smoke.data.channels, smoke.total_steps) == ('cifar10', 3, 8)
  plain = ar_config.get_config('cifar10')
  assert (plain.model.num_layers, plain.model.channels, plain.batch_size) == (15, 128, 16)
  mixture = ar_config.get_config('gated,pixelcnnpp_smoke')
  assert (mixture.model.likelihood, mixture.model.num_mixtures) == ('logistic_mixture', 10)


def test_build_refuses_the_mixture_on_sequence_models_and_binary_data(digits_info):
  c = ar_config.get_config('smoke,gray8,transformer')
  c.unlock()
  c.model.likelihood = 'logistic_mixture'
  with pytest.raises(ValueError, match='whole pixels'):
    autoregressive.build(c, digits_info)
  c.model.architecture = 'pixelcnn'
  c.data.binarize = 'dynamic'
  with pytest.raises(ValueError, match='binarize=none'):
    autoregressive.build(c, digits_info)


def test_build_refuses_mismatched_data_and_unknown_choices(digits_info):
  c = ar_config.get_config('smoke')
  c.unlock()
  c.data.binarize = 'none'
  with pytest.raises(ValueError, match='binarize=dynamic'):
    autoregressive.build(c, digits_info)
  c.model.likelihood = 'categorical'
  c.data.binarize = 'static'
  with pytest.raises(ValueError, match='binarize=none'):
    autoregressive.build(c, digits_info)
  c.data.binarize = 'none'
  c.model.architecture = 'wavenet'
  with pytest.raises(ValueError, match='architecture'):
    autoregressive.build(c, digits_info)


@pytest.mark.slow
def test_smoke_variant_trains_end_to_end(tmp_path, variant='lstm,gray8,cond'):
  """In process and shorter than the CLI smoke run of tests/experiments (which trains the
  default PixelCNN): the cheapest architecture, with the 256-way head and labels."""
  c = ar_config.get_config('smoke,' + variant)
  c.unlock()
  c.total_steps = 4
  c.eval.test_examples = 96
  c.eval.train_examples = 0
  c.eval.num_samples = 2
  c.eval.samples_per_class = 1
  c.eval.num_completions = 2
  train_and_evaluate(autoregressive.FAMILY, c, str(tmp_path))
  rows = [json.loads(line) for line in open(tmp_path / 'metrics.jsonl')]
  test = [r for r in rows if r['split'] == 'test']
  assert test and all(np.isfinite(r['nll']) for r in test)
  pixels = 64
  np.testing.assert_allclose(test[-1]['bits_per_dim'], test[-1]['nll'] / (pixels * np.log(2)),
                             rtol=1e-5)
  train = [r['loss'] for r in rows if r['split'] == 'train']
  assert train[-1] < train[0]
  artifacts = np.load(sorted((tmp_path / 'artifacts').iterdir())[-1])
  completions = artifacts['completions']
  np.testing.assert_array_equal(completions[:, :, :4], np.broadcast_to(
      artifacts['completion_inputs'][:, :4], completions[:, :, :4].shape))
  expected = ['completions.png', 'class_grid.png' if 'cond' in variant else 'samples.png']
  for png in expected:
    assert os.path.getsize(tmp_path / 'figures' / png) > 1000


@pytest.fixture
def colour_data(monkeypatch):
  """Random 8x8 RGB images with labels in place of CIFAR-10's; 8x8 keeps the 3 * 64
  sampling steps of each image to seconds."""
  fake_splits(monkeypatch, 'cifar10', (8, 8, 3), 10, sizes=(96, 48))


@pytest.mark.slow
@pytest.mark.parametrize('variant', ['cifar10_smoke', 'gated,pixelcnnpp_smoke,cond',
                                     'lstm,cifar10_smoke'])
def test_colour_smoke_variants_train_end_to_end(tmp_path, colour_data, variant):
  """Colour through the loop: bits/dim over H * W * 3 sub-pixels, RGB samples, completions
  that keep the given rows in every colour, and the figures."""
  c = ar_config.get_config(variant)
  c.unlock()
  c.total_steps = 4
  c.eval.test_examples = 48
  train_and_evaluate(autoregressive.FAMILY, c, str(tmp_path))
  rows = [json.loads(line) for line in open(tmp_path / 'metrics.jsonl')]
  test = [r for r in rows if r['split'] == 'test']
  assert test and all(np.isfinite(r['nll']) for r in test)
  np.testing.assert_allclose(test[-1]['bits_per_dim'],
                             test[-1]['nll'] / (8 * 8 * 3 * np.log(2)), rtol=1e-5)
  assert 5.0 < test[-1]['bits_per_dim'] < 12.0  # near 8 bits for random 8-bit pixels
  artifacts = np.load(sorted((tmp_path / 'artifacts').iterdir())[-1])
  drawn = artifacts['class_grid' if 'cond' in variant else 'samples']
  assert drawn.shape[1:] == (8, 8, 3)
  levels = np.round(drawn * 255)
  np.testing.assert_allclose(drawn, levels / 255, atol=1e-7)
  assert len(np.unique(levels)) > 16 and np.isfinite(artifacts['sample_nll']).all()
  completions = artifacts['completions']
  np.testing.assert_array_equal(completions[:, :, :4], np.broadcast_to(
      artifacts['completion_inputs'][:, :4], completions[:, :, :4].shape))
  for png in ('completions.png', 'class_grid.png' if 'cond' in variant else 'samples.png'):
    assert os.path.getsize(tmp_path / 'figures' / png) > 1000
