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

ARCHS = ['pixelcnn', 'gated', 'transformer', 'lstm']
MODIFIERS = ['', 'smoke', 'cond', 'sinusoidal', 'gray8', 'mnist', 'naive']


@pytest.mark.parametrize('arch', ARCHS)
def test_variants_validate(arch):
  for modifier in MODIFIERS:
    c = ar_config.get_config(','.join(filter(None, (arch, modifier))))
    config_lib.validate(c, autoregressive.schema(), ranges=autoregressive.RANGES)
    assert (c.data.binarize == 'none') == (c.model.likelihood == 'categorical')


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
