"""The autoregressive family: configs validate, bad combinations fail early, and every
architecture's smoke variant trains end to end through the one loop."""

import json
import math
import os

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from configs import autoregressive as ar_config
from genjax import config as config_lib
from genjax.data import info_file
from genjax.families import autoregressive
from genjax.models.autoregressive import make_model
from genjax.samplers import autoregressive as ar_samplers
from genjax.training.family import StepContext
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


# What a trained model offers (`genjax.load`): sample with its options, the exact NLL.

def _built(variant, info=None):
  """The family of configs/autoregressive.py:<variant> built from `info` (default: the
  data's own), its init params and a test batch without its mask."""
  c = ar_config.get_config(variant)
  data = autoregressive.FAMILY.data(c, 0, 1)
  family = autoregressive.FAMILY.build(c, info or data.info)
  params = family.training.init_params(jax.random.PRNGKey(0), data.train.batch(0))
  batch = next(iter(data.splits['test'](16, 0, 1, 16)))
  batch.pop('mask')
  return c, data, family, params, batch


@pytest.fixture(scope='module')
def conditional_gray(tmp_path_factory):
  """The conditional LSTM over 8-bit digits (a 256-way head and labels), built from its
  data and from the light info `genjax.load` reads back."""
  c, data, family, params, batch = _built('smoke,gray8,cond,lstm')
  directory = tmp_path_factory.mktemp('info')
  info_file.write(data.info, str(directory))
  light = autoregressive.FAMILY.build(c, info_file.read(str(directory)))
  return c, data, family, light, params, batch


def _nll(family, params, batch, context=StepContext(), **options):
  """The family's likelihood, jitted as `genjax.load` does: state and frozen params are
  arguments, the options static."""
  score = jax.jit(lambda p, b, r, s, f: family.inference.likelihood.nll(
      p, b, r, StepContext(s, f), **options))
  return np.asarray(score(params, batch, jax.random.PRNGKey(0), context.model_state,
                          context.frozen))


def _draw(family, params, seed, num=6, **options):
  options = {**family.inference.sample_options, **options}
  return np.asarray(family.inference.sample(params, jax.random.PRNGKey(seed), num,
                                            StepContext(), **options))


def test_built_without_the_data_it_samples_and_scores_the_same(conditional_gray):
  _, _, family, light, params, batch = conditional_gray
  assert light.reporting.artifacts_fn is None and family.reporting.artifacts_fn is not None
  assert light.inference.sample_options == family.inference.sample_options == {
      'label': None, 'temperature': 1.0, 'top_k': 0}
  np.testing.assert_array_equal(_draw(light, params, 1), _draw(family, params, 1))
  np.testing.assert_array_equal(_nll(light, params, batch), _nll(family, params, batch))


def test_the_exact_nll_is_the_evals_in_nats_and_bits_per_dim(conditional_gray):
  _, _, family, _, params, batch = conditional_gray
  likelihood = family.inference.likelihood
  assert likelihood.exact and likelihood.dims == 8 * 8 * 1 and likelihood.unit == 'dim'
  nats = _nll(family, params, batch)
  terms = family.reporting.eval_fn(params, batch, jax.random.PRNGKey(0), StepContext())
  np.testing.assert_allclose(nats, terms['nll'], rtol=1e-6)
  np.testing.assert_allclose(nats / (likelihood.dims * math.log(2)), terms['bits_per_dim'],
                             rtol=1e-6)
  # By hand: the sum over pixels of -log softmax at each pixel's value round(255 x).
  model = make_model(ar_config.get_config('smoke,gray8,cond,lstm').model, (8, 8, 1), 10)
  logits = np.asarray(model.apply(params, batch['image'], batch['label']))
  values = np.round(batch['image'] * 255).astype(int)
  logp = np.take_along_axis(np.asarray(jax.nn.log_softmax(logits)), values, -1)
  np.testing.assert_allclose(nats, -logp.sum((1, 2, 3)), rtol=1e-5)


def test_sample_options_do_what_they_say(conditional_gray):
  c, data, family, _, params, _ = conditional_gray
  model = make_model(c.model, (8, 8, 1), data.info.num_classes)
  threes = _draw(family, params, 2, label=3)
  direct = ar_samplers.sample(model, params, jax.random.PRNGKey(2), (8, 8, 1), 6,
                              jnp.full((6,), 3))[0]
  np.testing.assert_array_equal(threes, np.asarray(direct))  # class-3 conditioning
  per_sample = _draw(family, params, 2, label=[3, 3, 3, 4, 4, 4])
  np.testing.assert_array_equal(per_sample[:3], threes[:3])
  assert not np.array_equal(per_sample[3:], threes[3:])
  # None cycles through the classes, as the figures' draws do.
  cycled = ar_samplers.sample(model, params, jax.random.PRNGKey(2), (8, 8, 1), 6,
                              jnp.arange(6) % 10)[0]
  np.testing.assert_array_equal(_draw(family, params, 2), np.asarray(cycled))
  # Near-zero temperature, and top_k = 1, draw each pixel's most probable value.
  labels = jnp.full((6,), 3)
  greedy = lambda x: np.asarray(model.apply(params, jnp.asarray(x), labels)).argmax(-1)
  for options in (dict(temperature=1e-4), dict(top_k=1)):
    drawn = _draw(family, params, 5, label=3, **options)
    np.testing.assert_array_equal(np.round(drawn[..., 0] * 255), greedy(drawn))
  assert not np.array_equal(np.round(threes[..., 0] * 255), greedy(threes))
  # top_k = 2: every value among the two most probable, both of them drawn.
  drawn = _draw(family, params, 5, label=3, top_k=2)
  logits = np.asarray(model.apply(params, jnp.asarray(drawn), labels))
  value = np.round(drawn * 255).astype(int)
  rank = (logits > np.take_along_axis(logits, value, -1)).sum(-1)
  assert rank.max() == 1 and (rank == 1).any()
  # A function of the key.
  np.testing.assert_array_equal(_draw(family, params, 2, label=3), threes)
  assert not np.array_equal(_draw(family, params, 7, label=3), threes)


def test_each_head_declares_the_options_its_sampler_takes(digits_info):
  options = lambda variant: autoregressive.build(ar_config.get_config(variant),
                                                 digits_info).inference.sample_options
  assert options('smoke') == {'temperature': 1.0}  # Bernoulli: one logit, no top-k
  assert options('smoke,gray8') == {'temperature': 1.0, 'top_k': 0}
  assert options('gated,pixelcnnpp_smoke,cond') == {'label': None}  # drawn as it is
