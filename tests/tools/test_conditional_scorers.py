"""The Bayes classifier's scorers read back from saved class-conditional runs through
`genjax.load`: each is log p(x|y=c), for every class, as the run's own network computes it
from its checkpoint."""

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import pytest

from genjax.families import autoregressive
from genjax.models import autoregressive as ar_models
from genjax.models import gmm as gmm_models
from genjax.objectives import autoregressive as ar_objectives
from genjax.tools import conditional_scorers
from genjax.training import restore
from genjax.training.loop import train_and_evaluate
from tests.families.run_config import unlocked


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
  assert scores.shape == (6, 10)
  run = restore.load_run(conditional_pixelcnn)
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
  with pytest.raises(restore.WrongFamilyError, match="holds a 'autoregressive' run, not a "
                     'vae run'):
    conditional_scorers.vae_iwae(str(tmp_path), num_classes=10, num_samples=4)


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
  run = restore.load_run(str(tmp_path))
  model = make_model(ml_collections.ConfigDict(run.signature['model']),
                     run.signature['image_shape'], 10)
  key = jax.random.fold_in(jax.random.key(3), 0)  # the first batch's draw
  for c in (0, 7):
    bound = vae_objectives.iwae_bound(model, run.eval_params, jnp.asarray(x),
                                      jnp.full((5,), c, jnp.int32), key, 16)
    np.testing.assert_allclose(scores[:, c], np.asarray(bound), rtol=1e-5)
  assert not np.allclose(scorer(x), scores)  # the next batch draws afresh


@pytest.mark.slow
def test_the_class_mixtures_score_each_class_by_its_own_run(tmp_path):
  from configs import gmm as config_module  # pylint: disable=g-import-not-at-top
  from genjax.data.image_data import load_splits  # pylint: disable=g-import-not-at-top
  from genjax.families import gmm  # pylint: disable=g-import-not-at-top
  workdirs = []
  for c in (0, 1):
    config = unlocked(config_module, 'smoke', total_steps=3)
    config.data.class_label = c
    # A mixture reads its whole training set (its class's images) in every step.
    config.batch_size = int(np.sum(load_splits(config.data)[0].labels == c))
    workdirs.append(str(tmp_path / f'class{c}'))
    train_and_evaluate(gmm.FAMILY, config, workdirs[-1])
  x = np.random.default_rng(0).standard_normal((7, 10)).astype(np.float32)
  scores = conditional_scorers.class_gmms(workdirs)(x)
  assert scores.shape == (7, 2)
  for c, workdir in enumerate(workdirs):
    run = restore.load_run(workdir)
    expected = gmm_models.log_likelihood(run.params, jnp.asarray(x),
                                         covariance_type=run.config.model.covariance_type)
    np.testing.assert_allclose(scores[:, c], np.asarray(expected), rtol=1e-5)
  with pytest.raises(ValueError, match='class_label=1, expected 0'):
    conditional_scorers.class_gmms(workdirs[::-1])
