"""The GAN family through the one loop: each half-step moves only its own network, the smoke
run trains, scores and draws from its command line, and the tools read it back."""

import json
import os
import subprocess
import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from configs import gan as gan_config
from experiments import gan_objectives
from genjax.config import ConfigError
from genjax.data import info_file
from genjax.errors import UserError
from genjax.evals import frechet_setup
from genjax.families import gan
from genjax.figures import gan as figures
from genjax.models import dcgan
from genjax.samplers.gan import Sampler
from genjax.tools import gan_parzen
from genjax.training.assemble import assemble
from genjax.training.family import StepContext
from genjax.training.state import create_train_state
from tests.families.run_config import unlocked
from tests.numpy_init import numpy_variables
from tests.smoke_runs import scored_gan
from tests.training.checks import assert_bitwise_equal

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _run(*args):
  return subprocess.run([sys.executable, '-m', *args], cwd=REPO, capture_output=True,
                        text=True, timeout=600)


def _state_and_batch():
  config = unlocked(gan_config, 'smoke')
  data = gan.FAMILY.data(config, 0, 1)
  model = gan.DCGAN(config.model, config.objective, data.info.image_shape, 10,
                    config.optimizer, ema_decay=0.9)
  batch = {k: jnp.asarray(v) for k, v in data.train.batch(0).items()}
  z = jnp.zeros((1, config.model.latent_dim))
  g = numpy_variables(model.generator, z, batch['label'][:1], train=False, seed=1)
  d = numpy_variables(model.discriminator, batch['image'][:1], batch['label'][:1],
                      train=False, seed=2)
  params = {'generator': g['params'], 'discriminator': d['params']}
  stats = {'generator': g['batch_stats'], 'discriminator': d['batch_stats']}
  state = create_train_state(params, model.optimizer, jax.random.PRNGKey(0), ema=True,
                             model_state=stats)
  return model, state, batch


def test_each_half_step_moves_only_its_own_network():
  model, state, batch = _state_and_batch()
  x, y = 2.0 * batch['image'] - 1.0, batch['label']
  z = jnp.asarray(np.random.default_rng(0).standard_normal((len(x), model.latent_dim)),
                  jnp.float32)

  @jax.jit
  def halves(state):
    fake, pullback, _ = model.generator_forward(state, z, y)
    after_d, _ = model.discriminator_step(state, x, y, fake)
    after_g, _ = model.generator_step(state, fake, pullback, y)
    return after_d, after_g, model.update_fn(state, batch, jax.random.PRNGKey(1), None)[0]

  after_d, after_g, after_both = jax.device_get(halves(state))
  before = jax.device_get(state)
  for net, moved, kept in (('discriminator', after_d, after_g),
                           ('generator', after_g, after_d)):
    other = 'generator' if net == 'discriminator' else 'discriminator'
    # The network stepped moved, with its optimiser state; the other is bitwise as it was.
    assert not np.allclose(jax.tree.leaves(moved.params[net])[0],
                           jax.tree.leaves(before.params[net])[0])
    assert_bitwise_equal(moved.params[other], before.params[other])
    assert_bitwise_equal(moved.opt_state[other], before.opt_state[other])
    assert_bitwise_equal(kept.params[net], before.params[net])
  # The full step: both moved; the EMA follows G only, and carries D as it is.
  assert_bitwise_equal(after_both.ema_params['discriminator'],
                       after_both.params['discriminator'])
  ema, g = after_both.ema_params['generator'], after_both.params['generator']
  start = before.params['generator']
  for e, p, s in zip(jax.tree.leaves(ema), jax.tree.leaves(g), jax.tree.leaves(start)):
    np.testing.assert_allclose(e, 0.9 * s + 0.1 * p, rtol=1e-5, atol=1e-7)


def test_a_score_without_a_classifier_names_the_remedy():
  config = unlocked(gan_config, 'smoke')
  config.eval.frechet_samples, config.eval.classifier = 10, ''
  with pytest.raises(ConfigError, match='--config.eval.classifier'):
    gan.check_config(config)


@pytest.fixture(scope='module')
def smoke_run():
  """The session's run, which every worker reads (tests/smoke_runs.py)."""
  run = scored_gan()
  assert 'ETA' in run.stdout + run.stderr  # progress is shown
  return run.workdir


@pytest.mark.slow
def test_the_smoke_run_logs_its_scores_and_draws_its_figures(smoke_run):
  rows = [json.loads(line) for line in open(smoke_run / 'metrics.jsonl')]
  train = [r for r in rows if r['split'] == 'train']
  for key in ('d_loss', 'g_loss', 'd_real', 'd_fake', 'd_fake_after', 'g_output_grad'):
    assert all(np.isfinite(r[key]) for r in train), key
  assert all(0 <= r['d_real'] <= 1 and 0 <= r['d_fake'] <= 1 for r in train)
  scores = [r for r in rows if r['split'] == 'artifacts']
  assert [r['step'] for r in scores] == [8]  # the end (and every figure interval)
  for r in scores:
    assert r['frechet_distance'] > 0 and r['frechet_samples'] == 40
    assert 0 <= r['class_kl'] <= np.log(10) + 1e-9 and r['class_kl_floor'] >= 0
  final = json.load(open(smoke_run / 'final_metrics.json'))
  assert final['frechet_distance'] == scores[-1]['frechet_distance']
  for png in ('samples.png', 'samples_over_training.png', 'interpolation.png',
              'class_grid.png', 'training_curves.png', 'fd_and_mode_coverage.png'):
    assert os.path.getsize(smoke_run / 'figures' / png) > 1000, png
  last = np.load(smoke_run / 'artifacts' / 'step_00000008.npz')
  assert last['interpolation'].shape == (2, 4, 8, 8, 1)
  assert last['class_grid'].shape == (20, 8, 8, 1)
  np.testing.assert_allclose(last['class_histogram'].sum(), 1.0)


def test_the_parzen_tool_reads_the_generator_back(smoke_run, tmp_path):
  out = tmp_path / 'parzen.json'
  result = _run('experiments.gan_parzen', f'--workdir={smoke_run}', '--num_samples=200',
                '--validation_examples=64', '--test_examples=100', f'--out={out}')
  assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
  assert 'chosen' in result.stdout
  r = json.load(open(out))
  assert r['num_samples'] == 200 and r['validation_examples'] == 64
  assert r['sigma'] in r['sigmas'] and len(r['sigmas']) == 10
  assert r['sigma'] == r['sigmas'][int(np.argmax(r['validation_log_likelihood']))]
  assert np.isfinite(r['log_likelihood']) and r['standard_error'] > 0
  memorised = r['training_images']  # the same protocol on 200 training images
  assert memorised['sigma'] in r['sigmas'] and memorised['standard_error'] > 0
  # Widths are chosen on held-out images only; a directory without a run is refused.
  with pytest.raises(UserError, match='held out of training'):
    gan_parzen.run(str(smoke_run), validation_examples=65)
  with pytest.raises(UserError, match='no genjax run'):
    gan_parzen.run(str(tmp_path))


def test_the_objectives_figure_puts_runs_side_by_side(smoke_run, tmp_path):
  runs = gan_objectives.parse_runs([f'a={smoke_run}', f'b={smoke_run}'])
  out = figures.compare_objectives(runs, str(tmp_path / 'objectives.png'))
  assert os.path.getsize(out) > 1000
  with pytest.raises(UserError, match='label=workdir'):
    gan_objectives.parse_runs([str(smoke_run)])
  with pytest.raises(UserError, match='no metrics.jsonl'):
    gan_objectives.parse_runs([f'a={tmp_path}'])


def test_the_initial_state_initialises_each_network_once(monkeypatch):
  """Params by one init of each network; its statistics by a forward pass at those params,
  BatchNorm's at their initial values, spectral norm's power-iteration vector drawn."""
  calls = []
  for cls in (dcgan.Generator, dcgan.Discriminator):
    original = cls.init
    monkeypatch.setattr(cls, 'init', lambda self, *a, _o=original, **k: (
        calls.append(type(self).__name__), _o(self, *a, **k))[1])
  for variant in ('smoke', 'smoke,sn'):
    assembled = assemble(gan.FAMILY, unlocked(gan_config, variant))
    calls.clear()  # assemble traced the inits for the state's shapes only (its layout)
    state = assembled.initial_state()
    assert sorted(calls) == ['Discriminator', 'Generator']
    g_stats = state.model_state['generator']
    for path, value in jax.tree_util.tree_leaves_with_path(g_stats):
      expected = 1.0 if 'var' in jax.tree_util.keystr(path) else 0.0
      np.testing.assert_array_equal(value, expected)
    if variant.endswith('sn'):
      u = [v for p, v in jax.tree_util.tree_leaves_with_path(state.model_state['discriminator'])
           if jax.tree_util.keystr(p).endswith("/u']")]
      assert u and all(np.any(np.asarray(x) != 0) for x in u)


# Inference: what `genjax.load` offers of a GAN.


def _built(config, tmp_path=None):
  """The family built from `config`, its init params and statistics as a StepContext, the
  data, and with tmp_path the family built from the data description a run saves."""
  data = gan.FAMILY.data(config, 0, 1)
  family = gan.build(config, data.info)
  batch, rng = data.train.batch(0), jax.random.PRNGKey(0)
  params = family.training.init_params(rng, batch)
  context = StepContext(model_state=family.training.init_model_state(
      jax.random.fold_in(rng, 1), batch, params))
  light = None
  if tmp_path is not None:
    info_file.write(data.info, str(tmp_path))
    light = gan.build(config, info_file.read(str(tmp_path)))
  return family, params, context, data, light


def test_built_without_the_data_it_samples_the_same_and_reads_no_floor(tmp_path, monkeypatch):
  family, params, context, _, _ = _built(unlocked(gan_config, 'smoke'))
  # A run scored with a classifier, loaded where neither it nor the data is.
  config = unlocked(gan_config, 'smoke')
  config.eval.frechet_samples, config.eval.classifier = 10, str(tmp_path / 'nowhere')

  def refuse(*args, **kwargs):
    raise AssertionError('read the data')

  monkeypatch.setattr(frechet_setup, 'floor_images', refuse)
  monkeypatch.setattr(frechet_setup, 'setup', refuse)
  info_file.write(gan.FAMILY.data(config, 0, 1).info, str(tmp_path))
  light = gan.build(config, info_file.read(str(tmp_path)))
  assert light.reporting.artifacts_fn is None and light.inference.likelihood is None
  assert light.inference.sample_options == family.inference.sample_options == {'label': None}
  key = jax.random.PRNGKey(4)
  for options in ({}, {'label': 7}):
    np.testing.assert_array_equal(light.inference.sample(params, key, 6, context, **options),
                                  family.inference.sample(params, key, 6, context, **options))


def test_samples_are_the_averaged_generators_with_measured_statistics_and_the_label():
  config = unlocked(gan_config, 'smoke')
  family, params, context, data, _ = _built(config)
  sample = lambda key=1, **options: np.asarray(family.inference.sample(
      params, jax.random.PRNGKey(key), 12, context, **options))
  networks = gan.DCGAN(config.model, config.objective, data.info.image_shape, 10)
  # Statistics measured for the (averaged) weights, then the generator with them.
  stats_rng, z_rng = jax.random.split(jax.random.PRNGKey(1))
  stats = Sampler(networks, config.eval.calibration_samples, calibrate=True).statistics(
      params['generator'], context.model_state['generator'], stats_rng)
  z = networks.latents(z_rng, 12)
  direct = lambda y: np.asarray((networks.generator.apply(
      {'params': params['generator'], 'batch_stats': stats}, z, jnp.asarray(y),
      train=False) + 1) / 2)
  default, threes = sample(), sample(label=3)
  np.testing.assert_allclose(default, direct(np.arange(12) % 10), atol=1e-5)  # cycled
  np.testing.assert_allclose(threes, direct(np.full(12, 3)), atol=1e-5)
  np.testing.assert_array_equal(threes[3], default[3])  # the cycle's class 3, same latent
  assert not np.allclose(threes[4], default[4])
  np.testing.assert_array_equal(sample(label=[3] * 12), threes)
  np.testing.assert_array_equal(sample(), default)
  assert not np.array_equal(sample(key=2), default)
  assert default.shape == (12, 8, 8, 1) and 0 <= default.min() and default.max() <= 1
  with pytest.raises(ValueError, match='classes'):
    sample(label=10)


def test_an_unconditional_gan_takes_no_label():
  family, params, context, _, _ = _built(unlocked(gan_config, 'smoke',
                                                  model=dict(conditional=False)))
  assert family.inference.sample_options == {}
  assert family.inference.sample(params, jax.random.PRNGKey(0), 3, context).shape == (
      3, 8, 8, 1)
  with pytest.raises(ValueError, match='unconditional'):
    family.inference.sample(params, jax.random.PRNGKey(0), 3, context, label=1)
