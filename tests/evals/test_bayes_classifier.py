"""Bayes' rule on class-conditional densities, tested as math: two known Gaussians, whose
Bayes decision is a threshold; and the scorers read back from saved conditional runs."""

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import pytest
from scipy import stats

from genjax.evals import bayes_classifier as bayes
from genjax.evals import conditional_scorers
from genjax.families import autoregressive
from genjax.models import autoregressive as ar_models
from genjax.objectives import autoregressive as ar_objectives
from genjax.training.loop import train_and_evaluate
from tests.families.run_config import unlocked

MEANS = np.array([-1.0, 2.0])


def _two_gaussians(n=4000, seed=0):
  """Labels with p(y=1) = 0.3 and x | y ~ N(MEANS[y], 1), and log p(x|y) for both y."""
  rng = np.random.default_rng(seed)
  labels = (rng.random(n) < 0.3).astype(np.int64)
  x = MEANS[labels] + rng.standard_normal(n)
  return x, labels, stats.norm.logpdf(x[:, None], MEANS[None], 1.0)


def test_the_decision_is_the_bayes_threshold_and_log_px_the_mixture_density():
  x, labels, log_lik = _two_gaussians()
  prior = bayes.log_prior(labels, 2)
  np.testing.assert_allclose(np.exp(prior), np.bincount(labels) / len(labels))
  s = bayes.summarise(log_lik, labels, prior)
  # log p(x|1) + log p(1) > log p(x|0) + log p(0)  <=>  x > threshold, solved by hand.
  p1 = np.exp(prior[1])
  threshold = (MEANS.sum() / 2 + np.log((1 - p1) / p1) / (MEANS[1] - MEANS[0]))
  assert s['accuracy'] == pytest.approx(np.mean((x > threshold) == labels))
  density = (1 - p1) * stats.norm.pdf(x, MEANS[0]) + p1 * stats.norm.pdf(x, MEANS[1])
  assert s['log_px'] == pytest.approx(np.mean(np.log(density)))
  assert s['log_px_given_true_y'] == pytest.approx(
      np.mean(stats.norm.logpdf(x, MEANS[labels])))
  posterior = p1 * stats.norm.pdf(x, MEANS[1]) / density
  assert s['mean_true_class_posterior'] == pytest.approx(
      np.mean(np.where(labels == 1, posterior, 1 - posterior)))


def test_confusion_and_least_likely_agree_with_the_scores():
  x, labels, log_lik = _two_gaussians(n=500, seed=1)
  prior = bayes.log_prior(labels, 2)
  counts = bayes.confusion(log_lik, labels, prior)
  assert counts.sum() == 500 and np.array_equal(counts.sum(axis=1), np.bincount(labels))
  assert np.trace(counts) / 500 == pytest.approx(bayes.summarise(log_lik, labels, prior)[
      'accuracy'])
  worst = bayes.least_likely(log_lik, labels, 5)
  distance = np.abs(x - MEANS[labels])  # under unit variance, least likely = farthest
  np.testing.assert_array_equal(worst, np.argsort(-distance)[:5])


def test_scores_do_not_depend_on_the_batching():
  x, _, log_lik = _two_gaussians(n=103)
  scorer = lambda inputs: stats.norm.logpdf(inputs[:, None], MEANS[None], 1.0)
  seen = []
  every = bayes.class_log_likelihoods(scorer, x, batch_size=10,
                                      progress=lambda done, total: seen.append(done))
  np.testing.assert_allclose(every, log_lik)
  assert seen[-1] == 103 and len(seen) == 11


@pytest.fixture(scope='module')
def conditional_pixelcnn(tmp_path_factory):
  from configs import autoregressive as config_module  # pylint: disable=g-import-not-at-top
  config = unlocked(config_module, 'smoke,cond', total_steps=2, steps_per_call=2,
                    log_every=2, eval_every=2, ckpt_every=2)
  config.eval.train_examples = 0
  workdir = str(tmp_path_factory.mktemp('pixelcnn_cond'))
  train_and_evaluate(autoregressive.FAMILY, config, workdir)
  return workdir


@pytest.mark.slow
def test_the_autoregressive_scorer_is_the_exact_likelihood_under_each_class(
    conditional_pixelcnn):
  scorer, data = conditional_scorers.autoregressive_exact(conditional_pixelcnn,
                                                          num_classes=10)
  assert data.name == 'digits' and data.binarize != 'none'
  x = (np.random.default_rng(0).random((6, 8, 8, 1)) < 0.5).astype(np.float32)
  scores = scorer(x)
  run = conditional_scorers.restore.load_run(conditional_pixelcnn)
  model = ar_models.make_model(ml_collections.ConfigDict(run.signature['model']),
                               run.signature['image_shape'], 10)
  for c in (0, 3, 9):
    nll = ar_objectives.nll_terms(model, run.eval_params, jnp.asarray(x),
                                  jnp.full((6,), c, jnp.int32))['nll']
    np.testing.assert_allclose(scores[:, c], -np.asarray(nll), rtol=1e-5)
  assert len(np.unique(np.round(scores[0], 4))) > 1  # the label changes the likelihood


@pytest.mark.slow
def test_an_unconditional_run_is_refused_with_the_remedy(tmp_path):
  from configs import autoregressive as config_module  # pylint: disable=g-import-not-at-top
  config = unlocked(config_module, 'smoke', total_steps=2, steps_per_call=2, log_every=2,
                    eval_every=0, ckpt_every=2)
  config.eval.train_examples = 0
  train_and_evaluate(autoregressive.FAMILY, config, str(tmp_path))
  with pytest.raises(conditional_scorers.NotConditionalError, match='gated,cond'):
    conditional_scorers.autoregressive_exact(str(tmp_path), num_classes=10)


@pytest.mark.slow
def test_the_vae_scorer_is_each_classs_iwae_bound_with_one_draw_for_all_classes(tmp_path):
  from configs import vae as config_module  # pylint: disable=g-import-not-at-top
  from genjax.families import vae  # pylint: disable=g-import-not-at-top
  from genjax.models.vae import make_model  # pylint: disable=g-import-not-at-top
  from genjax.objectives import vae as vae_objectives  # pylint: disable=g-import-not-at-top
  config = unlocked(config_module, 'smoke,cvae', total_steps=4)
  config.eval.train_examples = 0
  train_and_evaluate(vae.FAMILY, config, str(tmp_path))
  scorer, _ = conditional_scorers.vae_iwae(str(tmp_path), num_classes=10, num_samples=16,
                                           seed=3)
  x = (np.random.default_rng(0).random((5, 8, 8, 1)) < 0.5).astype(np.float32)
  scores = scorer(x)
  run = conditional_scorers.restore.load_run(str(tmp_path))
  model = make_model(ml_collections.ConfigDict(run.signature['model']),
                     run.signature['image_shape'], 10)
  key = jax.random.fold_in(jax.random.key(3), 0)  # the first batch's draw
  for c in (0, 7):
    bound = vae_objectives.iwae_bound(model, run.eval_params, jnp.asarray(x),
                                      jnp.full((5,), c, jnp.int32), key, 16)
    np.testing.assert_allclose(scores[:, c], np.asarray(bound), rtol=1e-5)
  assert not np.allclose(scorer(x), scores)  # the next batch draws afresh
