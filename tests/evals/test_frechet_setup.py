"""One rule for the Fréchet distance's feature space, in every family that scores samples:
eval.frechet_samples=0 skips the score; otherwise a missing or empty eval.classifier is
refused in one line that names the command training the classifier and the flag that skips
the score, and Inception features (the default for colour images) refuse missing weights
and fewer samples than their dimensions."""

import ml_collections
import numpy as np
import pytest

from configs import code_prior as code_prior_config
from configs import diffusion as diffusion_config
from configs import gan as gan_config
from configs import var as var_config
from genjax import commands
from genjax.config import ConfigError
from genjax.errors import UserError
from genjax.evals import frechet_setup
from genjax.families import code_prior, diffusion, gan, var
from tests.families.random_classifier import random_digits_classifier
from tests.families.run_config import unlocked

SKIP = '--config.eval.frechet_samples=0'


def _eval(frechet_samples, classifier, **fields):
  return ml_collections.ConfigDict({**frechet_setup.FIELDS, 'frechet_samples': frechet_samples,
                                    'classifier': str(classifier), **fields})


def _refusal(e, channels=1) -> str:
  with pytest.raises(ConfigError) as raised:
    frechet_setup.check(e, channels)
  return str(raised.value)


@pytest.mark.parametrize('classifier', ['', 'nowhere/runs/classifier'])
def test_a_score_without_a_trained_classifier_is_refused_naming_the_command(classifier,
                                                                            tmp_path):
  if classifier:
    classifier = str(tmp_path / classifier)
  message = _refusal(_eval(8, classifier))
  assert '\n' not in message
  assert commands.CLASSIFIER in message and 'python -m experiments.classifier' in message
  assert SKIP in message
  assert (classifier or '--config.eval.classifier') in message
  assert isinstance(ConfigError(message), UserError)


@pytest.mark.parametrize('classifier', ['', 'nowhere/runs/classifier'])
def test_zero_samples_skip_the_score_whatever_the_classifier(classifier):
  e = _eval(0, classifier)
  frechet_setup.check(e, 3)
  assert frechet_setup.setup(e, np.zeros((4, 8, 8, 1), np.uint8)) is None


def test_a_classifier_gives_a_scorer_against_the_test_images_and_its_logits(tmp_path):
  e = _eval(8, random_digits_classifier(tmp_path / 'classifier.msgpack'))
  test = np.random.default_rng(0).integers(0, 256, (40, 8, 8, 1)).astype(np.uint8)
  frechet = frechet_setup.setup(e, test, with_logits=True)
  assert frechet.scorer(test[:20].astype(np.float32) / 255.0) > 0
  assert frechet.logits_of(test[:3].astype(np.float32) / 255.0).shape == (3, 10)
  assert frechet_setup.setup(e, test).logits_of is None


def test_every_family_that_scores_samples_applies_the_one_rule(digits_info):
  expected = _refusal(_eval(8, ''))
  configs = {'gan': unlocked(gan_config, 'smoke'),
             'code_prior': unlocked(code_prior_config, 'smoke'),
             'var': unlocked(var_config, 'smoke'),
             'diffusion': unlocked(diffusion_config, 'smoke')}
  for config in configs.values():
    config.eval.frechet_samples, config.eval.classifier = 8, ''
  checks = {'gan': gan.check_config, 'code_prior': code_prior.check_config,
            'var': var.check_config,
            'diffusion': lambda c: diffusion.FAMILY.build(c, digits_info)}
  for name, check in checks.items():
    with pytest.raises(ConfigError) as raised:
      check(configs[name])
    assert str(raised.value) == expected, name
  # With no samples to score, diffusion's smoke config builds without a classifier.
  config = unlocked(diffusion_config, 'smoke')
  config.eval.frechet_samples, config.eval.classifier = 0, ''
  diffusion.FAMILY.build(config, digits_info)


def test_colour_images_default_to_inception_features_and_gray_to_the_classifier(tmp_path):
  e = _eval(5000, '', inception_weights=str(tmp_path / 'none.npz'))
  assert frechet_setup.features_of(e, 3) == 'inception'
  assert frechet_setup.features_of(e, 1) == 'classifier'
  message = _refusal(e, channels=3)
  assert 'Inception weights' in message and 'pytorch-fid' in message and SKIP in message
  assert '--config.eval.features=classifier' in message
  assert 'needs a trained classifier' in _refusal(e, channels=1)
  few = _refusal(_eval(1000, '', features='inception'), channels=1)
  assert 'eval.frechet_samples=1000' in few and 'singular' in few
  assert 'choose one of' in _refusal(_eval(8, '', features='clip'))


@pytest.mark.slow
def test_inception_features_score_against_the_test_images_or_a_statistics_file(
    tmp_path, monkeypatch):
  import jax  # pylint: disable=g-import-not-at-top
  import jax.numpy as jnp  # pylint: disable=g-import-not-at-top
  from genjax.evals import inception_features  # pylint: disable=g-import-not-at-top
  from genjax.models import inception_weights  # pylint: disable=g-import-not-at-top
  from genjax.models.inception import InceptionV3  # pylint: disable=g-import-not-at-top
  monkeypatch.setattr(inception_features, 'MIN_SAMPLES', 4)
  weights = str(tmp_path / 'inception.npz')
  inception_weights.save(jax.jit(InceptionV3().init)(jax.random.PRNGKey(0),
                                                      jnp.zeros((1, 8, 8, 3))), weights)
  # Four images throughout: each input shape is one more compile of the network.
  test = np.random.default_rng(0).integers(0, 256, (4, 8, 8, 3)).astype(np.uint8)
  e = _eval(4, '', inception_weights=weights)
  frechet = frechet_setup.setup(e, test, with_logits=True)
  assert frechet.logits_of is None  # ImageNet's classes are not the data's
  samples = np.random.default_rng(1).uniform(size=(4, 8, 8, 3)).astype(np.float32)
  from_test = frechet.scorer(samples)
  assert from_test > 0 and frechet.scorer(test / 255.0) < from_test
  frechet.scorer.reference.save(str(tmp_path / 'test_stats.npz'))
  e.fid_reference = str(tmp_path / 'test_stats.npz')
  assert frechet_setup.setup(e, test).scorer(samples) == pytest.approx(from_test)
