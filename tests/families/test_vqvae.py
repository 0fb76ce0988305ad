"""The VQ-VAE's two stages through the one loop: the EMA codebook resumes bitwise, every
evaluation logs codebook health, and a prior refuses a stage-1 workdir it cannot use in
one line before anything compiles; it reads a finished one's codes and decodes with it.
A smoke prior's stage 1 trained first (tests/experiments/test_smoke.py runs it) is named by
a config that validates, and a bad name fails in one line before anything trains."""

import contextlib
import json
import math
import os
import shutil
import subprocess
import sys

import jax
import jax.monitoring
import jax.numpy as jnp
import numpy as np
import pytest

from configs import code_prior as code_prior_config
from configs import var as var_config
from configs import vqvae as vqvae_config
from genjax import config as config_lib
from genjax import launch
from genjax.config import ConfigError
from genjax.data import info_file
from genjax.data.family_data import DataInfo
from genjax.errors import UserError
from genjax.families import code_prior, var, vqvae
from genjax.models import pixels
from genjax.models.autoregressive import make_model as make_ar_model
from genjax.objectives import vqvae as vq_objectives
from genjax.objectives.vqvae import objective_from_signature
from genjax.samplers import autoregressive as ar_samplers
from genjax.stage2.first_stage import codes_path, load_stage1
from genjax.training.family import StepContext
from genjax.training.loop import train_and_evaluate
from tests.families.run_config import unlocked
from tests.smoke_runs import trained
from tests.training.checks import assert_bitwise_equal, raw_state

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SHORT = dict(total_steps=6, steps_per_call=2, eval_every=2, ckpt_every=2, log_every=2)
FLAGS = [f'--config.{k}={v}' for k, v in SHORT.items()]


def _command_line(main, workdir, *flags):
  """`python -m experiments.<main> --config=configs/<main>.py:smoke` as a user runs it."""
  result = subprocess.run([sys.executable, '-m', f'experiments.{main}',
                           f'--config=configs/{main}.py:smoke', f'--workdir={workdir}',
                           *FLAGS, *flags], cwd=REPO, capture_output=True, text=True,
                          timeout=600)
  assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
  assert 'ETA' in result.stderr + result.stdout  # progress is shown
  return workdir


def _rows(workdir, split):
  with open(os.path.join(workdir, 'metrics.jsonl')) as f:
    return [r for r in map(json.loads, f) if r['split'] == split]


@pytest.fixture(scope='module')
def stage1():
  """Stage 1's smoke variant from its command line, 6 steps: the session's run, which
  every worker reads (tests/smoke_runs.py)."""
  run = trained('vqvae', *FLAGS)
  assert 'ETA' in run.stderr + run.stdout  # progress is shown
  return run.workdir


@pytest.mark.slow
def test_ema_codebook_statistics_resume_bitwise(stage1, tmp_path):
  # A run killed after its step-4 checkpoint: the newest checkpoint and final metrics gone.
  shutil.copytree(stage1, tmp_path, dirs_exist_ok=True)
  shutil.rmtree(tmp_path / 'checkpoints' / '6')
  os.remove(tmp_path / 'final_metrics.json')
  train_and_evaluate(vqvae.FAMILY, unlocked(vqvae_config, 'smoke', **SHORT), str(tmp_path))
  straight, resumed = raw_state(stage1), raw_state(tmp_path)
  assert_bitwise_equal(straight, resumed)
  assert _rows(tmp_path, 'test') == _rows(stage1, 'test')
  state = straight['model_state']
  assert set(state) == {'codebook', 'counts', 'sums'}
  k = vqvae_config.get_config('smoke').model.num_codes
  assert state['codebook'].shape[0] == k
  # EMA counts of assignments: each batch hands out batch * codes-per-image assignments,
  # and the counts start at one per code, so their total moves from K toward that number.
  per_batch = 32 * 2 * 2
  assert k < state['counts'].sum() <= per_batch + k


def test_every_evaluation_logs_codebook_health_and_the_uniform_bound(stage1):
  rows = _rows(stage1, 'test')
  assert [r['step'] for r in rows] == [2, 4, 6]
  k = vqvae_config.get_config('smoke').model.num_codes
  for r in rows:
    assert 1.0 <= r['perplexity'] <= k
    assert 0.0 < r['codes_used'] <= 1.0
    # 2x2 codes of 8x8 pixels: the uniform prior adds 4 log K nats to 64 pixels' NLL.
    np.testing.assert_allclose(r['bound_bits_per_dim_uniform_prior'] - r['recon_bits_per_dim'],
                               4 * math.log(k) / (64 * math.log(2)), rtol=1e-5)
  for png in ('reconstructions.png', 'code_usage.png', 'uniform_prior_samples.png'):
    assert os.path.getsize(os.path.join(stage1, 'figures', png)) > 1000


@contextlib.contextmanager
def _no_compilation():
  compiled = []
  listener = lambda event, duration, **kw: compiled.append(event) if 'compile' in event else 0
  jax.monitoring.register_event_duration_secs_listener(listener)
  try:
    yield compiled
  finally:
    jax.monitoring.unregister_event_duration_listener(listener)
  assert not compiled, compiled


def _refusal(stage1_workdir) -> str:
  config = unlocked(code_prior_config, 'smoke', data=dict(stage1_workdir=str(stage1_workdir)))
  with _no_compilation(), pytest.raises(UserError) as raised:
    code_prior.FAMILY.data(config, 0, 1)
  message = str(raised.value)
  assert '\n' not in message
  return message


def test_a_prior_refuses_a_missing_an_unfinished_or_another_familys_stage1(stage1, tmp_path):
  missing = tmp_path / 'nothing'
  assert str(missing) in _refusal(missing) and 'experiments.vqvae' in _refusal(missing)
  other = tmp_path / 'vae'
  other.mkdir()
  (other / 'config.json').write_text(json.dumps({'family': 'vae'}))
  assert "holds a 'vae' run, not a vqvae run" in _refusal(other)
  unfinished = tmp_path / 'unfinished'
  shutil.copytree(stage1, unfinished)
  os.remove(unfinished / 'final_metrics.json')  # as a run killed after its last checkpoint
  assert 'is unfinished (latest checkpoint at step 6' in _refusal(unfinished)


@pytest.mark.slow
def test_a_prior_trains_on_stage1_codes_and_its_bound_adds_its_code_nll(stage1, tmp_path):
  _command_line('code_prior', tmp_path, f'--config.data.stage1_workdir={stage1}')
  stage1_final = _rows(stage1, 'test')[-1]
  row = _rows(tmp_path, 'test')[-1]
  # The same frozen decoder on the same codes: stage 1's reconstruction term, exactly.
  np.testing.assert_allclose(row['recon_nll'], stage1_final['recon_nll'], rtol=1e-6)
  np.testing.assert_allclose(row['bound_bits_per_dim'],
                             (row['recon_nll'] + row['prior_nll']) / (64 * math.log(2)),
                             rtol=1e-5)
  # Codes were encoded once, beside the stage-1 run, and name where they came from.
  stage1_run = load_stage1(str(stage1))
  with np.load(codes_path(stage1_run).replace('.npz', '_test.npz')) as f:
    assert json.loads(str(f['metadata']))['source']['step'] == stage1_run.run.step
  assert os.path.getsize(os.path.join(tmp_path, 'figures', 'samples.png')) > 1000


def test_a_prior_samples_images_decoded_by_its_frozen_stage1(stage1):
  config = unlocked(code_prior_config, 'smoke', data=dict(stage1_workdir=str(stage1)))
  data = code_prior.FAMILY.data(config, 0, 1)
  family = code_prior.FAMILY.build(config, data.info)
  params = family.training.init_params(jax.random.PRNGKey(0), data.train.batch(0))
  context = StepContext(frozen=family.training.frozen)
  draw = lambda seed: np.asarray(family.inference.sample(params, jax.random.PRNGKey(seed), 4,
                                                         context))
  images = draw(1)
  assert images.shape == (4, *data.info.test_images.images.shape[1:])
  assert np.all(np.isfinite(images)) and images.min() >= 0.0 and images.max() <= 1.0
  np.testing.assert_array_equal(draw(1), images)


def test_var_refuses_a_stage1_with_one_code_map_in_one_line(stage1):
  config = unlocked(var_config, 'smoke', data=dict(stage1_workdir=str(stage1)))
  with _no_compilation(), pytest.raises(UserError) as raised:
    var.FAMILY.build(config, DataInfo(num_train=1, num_classes=10))
  message = str(raised.value)
  assert '\n' not in message and 'one code map, not multi-scale tokens' in message
  assert 'configs/vqvae.py:cpu,multiscale' in message


def test_a_scale_schedule_that_misses_the_latent_side_names_one_that_fits():
  config = unlocked(vqvae_config, 'cpu,multiscale', model=dict(scales=(1, 2, 5)))
  with pytest.raises(ConfigError) as raised:
    vqvae.check_scales(config, (28, 28, 1))
  message = str(raised.value)
  assert '\n' not in message and "--config.model.scales='(1, 2, 3, 4, 5, 7)'" in message
  vqvae.check_scales(vqvae_config.get_config('cpu,multiscale'), (28, 28, 1))  # it fits


def test_a_stage1_saved_before_multi_scale_tokens_reads_as_one_code_map():
  signature = {'model': vqvae_config.get_config('cpu').model.to_dict(),
               'objective': vqvae_config.get_config('cpu').objective.to_dict(),
               'image_shape': [28, 28, 1]}
  del signature['model']['scales']  # as runs/vqvae's checkpoints were written
  objective = objective_from_signature(signature)
  assert objective.scales == () and objective.token_shape == (7, 7)


def test_the_stage1_a_smoke_prior_trains_first_is_a_valid_vqvae_config():
  for module in (code_prior_config, var_config):
    specs = {v: module.get_config(v).data.stage1_config for v in module.VARIANTS}
    assert specs['smoke'] and not module.get_config('').data.stage1_config, specs
    for spec in filter(None, specs.values()):
      stage1_run = code_prior_config.stage1_config(spec)
      assert stage1_run.family == 'vqvae'
      config_lib.validate(stage1_run, vqvae.FAMILY.schema(), ranges=vqvae.FAMILY.ranges)
      side = vqvae_config.image_side(stage1_run.data)  # e.g. the smoke digits' 8
      vqvae.check_scales(stage1_run, (side, side, 1))
  tokenizer = code_prior_config.stage1_config(var_config.get_config('smoke').data.stage1_config)
  assert tokenizer.model.scales == (1, 2) and tokenizer.model.code_dim == 32  # multiscale's
  assert tokenizer.model.num_codes == vqvae_config.get_config('smoke').model.num_codes


def _stage2(config, workdir):
  """experiments/code_prior.py's main, called in process."""
  return launch.experiment(code_prior.FAMILY, upstream=(
      vqvae.FAMILY, code_prior_config.stage1_config))(config, workdir)


@pytest.mark.parametrize('spec,message', [
    ('tiny', "Unknown config variant 'tiny'"),
    ('smoke,nope', "Unknown config variant 'nope'"),
])
def test_a_stage1_config_it_cannot_read_fails_in_one_line_before_anything_trains(
    tmp_path, spec, message):
  config = unlocked(code_prior_config, 'smoke', data=dict(stage1_config=spec))
  with _no_compilation(), pytest.raises(ConfigError) as raised:
    _stage2(config, str(tmp_path / 'run'))
  text = str(raised.value)
  assert '\n' not in text and text.startswith(f'data.stage1_config={spec!r}: ') and message in text
  assert not os.path.exists(tmp_path / 'run')  # nothing trained, nothing written


def test_a_prior_that_names_no_stage1_to_read_or_train_still_refuses_in_one_line(tmp_path):
  config = unlocked(code_prior_config, 'cpu')  # neither stage1_workdir nor stage1_config
  with _no_compilation(), pytest.raises(UserError) as raised:
    _stage2(config, str(tmp_path / 'run'))
  assert '\n' not in str(raised.value) and 'No stage-1 run named' in str(raised.value)
  assert not os.path.exists(tmp_path / 'run' / 'stage1')


# What a trained stage 1 offers (`genjax.load`): encode, decode and the uniform-prior bound;
# what a trained prior over its codes offers: decoded samples and the full bound.

def _light(info, directory):
  """The info `genjax.load` reads back: sizes, no test images."""
  info_file.write(info, str(directory))
  return info_file.read(str(directory))


def _nll(family, params, batch, context, **options):
  """The family's likelihood, jitted as `genjax.load` does (state and frozen params as
  arguments, options static)."""
  score = jax.jit(lambda p, b, r, s, f: family.inference.likelihood.nll(
      p, b, r, StepContext(s, f), **options))
  return np.asarray(score(params, batch, jax.random.PRNGKey(0), context.model_state,
                          context.frozen))


def _test_batch(data, n=16):
  batch = next(iter(data.splits['test'](n, 0, 1, n)))
  batch.pop('mask')
  return batch


@pytest.fixture(scope='module')
def smoke_stage1(tmp_path_factory):
  """configs/vqvae.py:smoke built (not trained) from its data and from the light info."""
  config = vqvae_config.get_config('smoke')
  data = vqvae.FAMILY.data(config, 0, 1)
  family = vqvae.FAMILY.build(config, data.info)
  light = vqvae.FAMILY.build(config, _light(data.info, tmp_path_factory.mktemp('info')))
  batch, rng = data.train.batch(0), jax.random.PRNGKey(0)
  params = family.training.init_params(rng, batch)
  state = family.training.init_model_state(jax.random.fold_in(rng, 1), batch, params)
  return config, data, family, light, params, StepContext(model_state=state)


def test_a_stage1_built_without_the_data_encodes_decodes_and_scores_the_same(smoke_stage1):
  _, data, family, light, params, context = smoke_stage1
  assert light.reporting.artifacts_fn is None
  # Samples decode uniform codes, the model its bound scores: the same from either build.
  key = jax.random.PRNGKey(3)
  np.testing.assert_array_equal(np.asarray(light.inference.sample(params, key, 3, context)),
                                np.asarray(family.inference.sample(params, key, 3, context)))
  batch = _test_batch(data)
  codes = np.asarray(family.inference.encode(params, batch, None, context))
  np.testing.assert_array_equal(np.asarray(light.inference.encode(params, batch, None,
                                                                  context)), codes)
  np.testing.assert_array_equal(np.asarray(light.inference.decode(params, codes, context)),
                                np.asarray(family.inference.decode(params, codes, context)))
  np.testing.assert_array_equal(_nll(light, params, batch, context),
                                _nll(family, params, batch, context))


def test_a_stage1s_codes_decode_to_its_reconstructions_and_its_bound_is_the_evals(
    smoke_stage1):
  config, data, family, _, params, context = smoke_stage1
  k = config.model.num_codes
  batch = _test_batch(data)
  codes = np.asarray(family.inference.encode(params, batch, None, context))
  assert codes.shape == (16, 2, 2) and codes.min() >= 0 and codes.max() < k
  # The figures' reconstructions of the first test images: the same encode and decode.
  artifacts = family.reporting.artifacts_fn(params, jax.random.PRNGKey(0), context)
  shown = len(artifacts['recon_inputs'])
  np.testing.assert_array_equal(batch['image'][:shown], artifacts['recon_inputs'])
  np.testing.assert_allclose(
      np.asarray(family.inference.decode(params, codes[:shown], context)),
      artifacts['recon_means'], atol=1e-6)
  likelihood = family.inference.likelihood
  assert not likelihood.exact and likelihood.dims == 64
  nats = _nll(family, params, batch, context)
  terms = family.reporting.eval_fn(params, batch, jax.random.PRNGKey(0), context)
  np.testing.assert_allclose(nats / (64 * math.log(2)),
                             terms['bound_bits_per_dim_uniform_prior'], rtol=1e-6)
  np.testing.assert_allclose(nats - terms['recon_nll'], 4 * math.log(k), rtol=1e-5)


def test_a_stage1_with_a_squared_error_bounds_no_likelihood(digits_info):
  config = unlocked(vqvae_config, 'smoke', model=dict(likelihood='mse'))
  inference = vqvae.FAMILY.build(config, digits_info).inference
  assert inference.likelihood is None and inference.encode is not None


@pytest.fixture(scope='module')
def cond_prior(stage1, tmp_path_factory):
  """configs/code_prior.py:smoke,cond over the stage-1 run, built (not trained) from its
  data and from the light info `genjax.load` reads back, with init params."""
  config = unlocked(code_prior_config, 'smoke,cond', data=dict(stage1_workdir=str(stage1)))
  data = code_prior.FAMILY.data(config, 0, 1)
  family = code_prior.FAMILY.build(config, data.info)
  light = code_prior.FAMILY.build(config, _light(data.info, tmp_path_factory.mktemp('info')))
  params = family.training.init_params(jax.random.PRNGKey(0), data.train.batch(0))
  return config, data, family, light, params, StepContext(frozen=family.training.frozen)


def _draw(family, params, context, seed, num=6, **options):
  options = {**family.inference.sample_options, **options}
  return np.asarray(family.inference.sample(params, jax.random.PRNGKey(seed), num, context,
                                            **options))


def test_a_prior_built_without_the_data_samples_and_scores_the_same(cond_prior):
  _, data, family, light, params, context = cond_prior
  assert light.reporting.artifacts_fn is None
  assert family.inference.sample_options == light.inference.sample_options == {
      'label': None, 'temperature': 1.0, 'top_k': 0}
  np.testing.assert_array_equal(_draw(light, params, context, 1),
                                _draw(family, params, context, 1))
  batch = _test_batch(data)
  np.testing.assert_array_equal(_nll(light, params, batch, context),
                                _nll(family, params, batch, context))


def test_a_priors_bound_is_the_evals_in_nats_and_encodes_images_given_alone(cond_prior):
  _, data, family, _, params, context = cond_prior
  likelihood = family.inference.likelihood
  assert not likelihood.exact and likelihood.dims == 64  # the 8x8 images, not 2x2 codes
  batch = _test_batch(data)
  nats = _nll(family, params, batch, context)
  terms = family.reporting.eval_fn(params, batch, jax.random.PRNGKey(0), context)
  np.testing.assert_allclose(nats / (64 * math.log(2)), terms['bound_bits_per_dim'],
                             rtol=1e-6)
  np.testing.assert_allclose(nats, terms['recon_nll'] + terms['prior_nll'], rtol=1e-6)
  # Images without their codes: stage 1 encodes them, to the codes the split holds.
  no_codes = {k: v for k, v in batch.items() if k != 'codes'}
  np.testing.assert_allclose(_nll(family, params, no_codes, context), nats, rtol=1e-6)


def test_a_priors_sample_options_reach_its_sampler(cond_prior):
  config, data, family, _, params, context = cond_prior
  stage1_run = load_stage1(config.data.stage1_workdir)
  k, grid = stage1_run.num_codes, tuple(data.info.example_shape) + (1,)
  model = make_ar_model(config.model, grid, data.info.num_classes, num_codes=k)
  frozen = context.frozen

  def direct(seed, y, **options):  # the prior's sampler, decoded by stage 1
    canvas = ar_samplers.sample(model, params, jax.random.PRNGKey(seed), grid, 6, y,
                                **options)[0]
    mean = stage1_run.objective.decode_codes(frozen['params'], frozen['model_state'],
                                             pixels.codes_from_canvas(canvas, k))[0]
    return np.asarray(vq_objectives.decoder_mean01(stage1_run.objective.likelihood, mean))

  threes = _draw(family, params, context, 2, label=3)
  np.testing.assert_allclose(threes, direct(2, jnp.full((6,), 3)), atol=1e-6)
  np.testing.assert_allclose(_draw(family, params, context, 2),
                             direct(2, jnp.arange(6) % 10), atol=1e-6)  # None cycles
  np.testing.assert_allclose(_draw(family, params, context, 2, label=3, temperature=0.5,
                                   top_k=3),
                             direct(2, jnp.full((6,), 3), temperature=0.5, top_k=3),
                             atol=1e-6)
  # Near-zero temperature and top_k = 1 both draw the most probable codes: the same
  # images whatever the key.
  greedy = _draw(family, params, context, 2, label=3, top_k=1)
  np.testing.assert_array_equal(_draw(family, params, context, 9, label=3, top_k=1), greedy)
  np.testing.assert_allclose(_draw(family, params, context, 4, label=3, temperature=1e-4),
                             greedy, atol=1e-6)
  assert not np.array_equal(_draw(family, params, context, 9, label=3), threes)
