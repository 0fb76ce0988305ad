"""One rule for the Fréchet distance's classifier, in every family that scores samples:
eval.frechet_samples=0 skips the score; otherwise a missing or empty eval.classifier is
refused in one line that names the command training the classifier and the flag that skips
the score."""

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


def _eval(frechet_samples, classifier):
  return ml_collections.ConfigDict({'frechet_samples': frechet_samples,
                                    'classifier': str(classifier)})


def _refusal(e) -> str:
  with pytest.raises(ConfigError) as raised:
    frechet_setup.check(e)
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
  frechet_setup.check(e)
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
