"""VAR's two pieces through the one loop from their command lines: the multi-scale
tokenizer as a VQ-VAE stage 1, VAR over its tokens, and the raster Transformer prior over
the same tokens; both priors' bounds share the tokenizer's reconstruction term, and the
head-to-head tool reads both runs."""

import json
import math
import os
import subprocess
import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from configs import code_prior as code_prior_config
from configs import var as var_config
from genjax.config import ConfigError
from genjax.data import info_file
from genjax.families import code_prior, var
from genjax.objectives import vqvae as vq_objectives
from genjax.samplers import var as var_samplers
from genjax.stage2.first_stage import load_stage1
from genjax.training.family import StepContext
from genjax.training.loop import train_and_evaluate
from tests.families.run_config import unlocked
from tests.families.random_classifier import random_digits_classifier
from tests.smoke_runs import trained

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SHORT = dict(total_steps=4, steps_per_call=2, eval_every=4, ckpt_every=4, log_every=2)
FLAGS = [f'--config.{k}={v}' for k, v in SHORT.items()]


def _command_line(main, workdir, variant, *flags):
  result = subprocess.run([sys.executable, '-m', f'experiments.{main}',
                           f'--config=configs/{main}.py:{variant}', f'--workdir={workdir}',
                           *FLAGS, *flags], cwd=REPO, capture_output=True, text=True,
                          timeout=600)
  assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
  assert 'ETA' in result.stderr + result.stdout  # progress is shown
  return workdir


def _last_test_row(workdir):
  with open(os.path.join(workdir, 'metrics.jsonl')) as f:
    return [r for r in map(json.loads, f) if r['split'] == 'test'][-1]


@pytest.fixture(scope='module')
def tokenizer():
  """The session's run, which every worker reads (tests/smoke_runs.py)."""
  run = trained('vqvae', *FLAGS, '--config.model.scales=(1,2)',  # the digits' 2x2 latent
                variant='smoke,multiscale')
  assert 'ETA' in run.stderr + run.stdout  # progress is shown
  return run.workdir


@pytest.mark.slow
def test_the_tokenizer_is_a_stage_1_with_l_tokens_and_a_coarse_to_fine_figure(tokenizer):
  row = _last_test_row(tokenizer)
  k = 32  # configs/vqvae.py:smoke's codebook
  # The uniform prior over L = 1 + 4 tokens adds 5 log K nats to 64 pixels' NLL.
  np.testing.assert_allclose(row['bound_bits_per_dim_uniform_prior'] - row['recon_bits_per_dim'],
                             5 * math.log(k) / (64 * math.log(2)), rtol=1e-5)
  assert os.path.getsize(os.path.join(tokenizer, 'figures', 'coarse_to_fine.png')) > 1000


@pytest.mark.slow
def test_var_and_the_raster_prior_train_on_the_same_tokens_and_the_tool_compares_them(
    tokenizer, tmp_path):
  # 20 samples everywhere: one compiled sampler per guidance scale serves every draw.
  scored = [f'--config.data.stage1_workdir={tokenizer}', '--config.eval.frechet_samples=20',
            '--config.eval.num_samples=20',
            f'--config.eval.classifier={random_digits_classifier(tmp_path / "c.msgpack")}']
  var_run = _command_line('var', tmp_path / 'var', 'smoke', *scored)
  raster = tmp_path / 'raster'  # in process (the command line is test_vqvae.py's)
  train_and_evaluate(code_prior.FAMILY, unlocked(
      code_prior_config, 'smoke,transformer', **SHORT,
      data=dict(stage1_workdir=str(tokenizer)),
      eval=dict(frechet_samples=20, num_samples=20,
                classifier=str(random_digits_classifier(tmp_path / 'c2.msgpack')))),
                     str(raster))
  stage1 = _last_test_row(tokenizer)
  for workdir in (var_run, raster):
    row = _last_test_row(workdir)
    # The same frozen decoder on the same tokens: stage 1's reconstruction term, exactly.
    np.testing.assert_allclose(row['recon_nll'], stage1['recon_nll'], rtol=1e-6)
    np.testing.assert_allclose(row['bound_bits_per_dim'],
                               (row['recon_nll'] + row['prior_nll']) / (64 * math.log(2)),
                               rtol=1e-5)
    assert 0 < row['prior_bits_per_code'] < math.log2(32) + 1  # near uniform after 4 steps
  for png in ('samples.png', 'class_grids.png', 'scale_by_scale.png'):
    assert os.path.getsize(os.path.join(var_run, 'figures', png)) > 1000
  with np.load(os.path.join(var_run, 'artifacts', 'step_00000004.npz')) as a:
    assert a['class_grids'].shape == (2, 20, 8, 8, 1)  # guidance (1, 2), 2 per class
    assert a['scale_samples'].shape == (2, 8, 8, 8, 1)  # scales (1, 2) of 8 samples
    assert a['frechet_by_guidance'].shape == (2,) and a['frechet_distance'] > 0

  out = tmp_path / 'table' / 'head_to_head'
  result = subprocess.run([sys.executable, '-m', 'experiments.var_vs_raster',
                           f'--var={var_run}', f'--raster={raster}', f'--out={out}'],
                          cwd=REPO, capture_output=True, text=True, timeout=300)
  assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
  written = json.loads(open(f'{out}.json').read())
  rows = written['priors']
  # Scales (1, 2) of the 297 test digits: 297 and 4 x 297 tokens.
  assert [u['tokens'] for u in written['scale_usage']] == [297, 4 * 297]
  assert all(1 <= u['codes_used'] <= 32 for u in written['scale_usage'])
  assert rows['VAR']['sequential_steps'] == 2 and rows['raster Transformer'][
      'sequential_steps'] == 5  # scales (1, 2) against 1 + 4 tokens
  for name, workdir in (('VAR', var_run), ('raster Transformer', raster)):
    final = json.loads(open(os.path.join(workdir, 'final_metrics.json')).read())
    assert rows[name]['frechet_distance'] == final['frechet_distance']
    assert rows[name]['bound_bits_per_dim'] == _last_test_row(workdir)['bound_bits_per_dim']
    assert rows[name]['params'] > 0 and rows[name]['train_seconds'] > 0
  assert '| VAR | 2 |' in open(f'{out}.md').read()


def test_a_class_grid_shows_at_most_its_classes_spread_over_the_labels():
  np.testing.assert_array_equal(var.grid_classes(1000, 10), np.arange(0, 1000, 100))
  for num_classes, shown in ((10, 10), (7, 10), (12, 0)):  # every class
    np.testing.assert_array_equal(var.grid_classes(num_classes, shown), np.arange(num_classes))
  # ImageNet's paper variant draws 10 classes, not 1,000 rows.
  e = var_config.get_config('d16').eval
  assert len(var.grid_classes(1000, e.grid_classes)) * e.samples_per_class == 80


def test_bad_sampling_settings_name_their_fix():
  for field, value, fix in (('top_p', 0.0, '--config.eval.top_p=1.0'),
                            ('top_p', 1.5, '--config.eval.top_p=1.0')):
    config = var_config.get_config('smoke')
    config.unlock()
    config.eval[field] = value
    with pytest.raises(ConfigError, match=fix):
      var.check_config(config)
  config = var_config.get_config('smoke')
  config.unlock()
  config.eval.frechet_samples, config.eval.classifier = 20, ''
  with pytest.raises(ConfigError, match='--config.eval.classifier'):
    var.check_config(config)
  config = var_config.get_config('smoke,uncond')
  config.unlock()
  config.eval.guidance_scales = (1.0, 2.0)
  with pytest.raises(ConfigError, match='conditional=True'):
    var.check_config(config)


# What a trained VAR offers (`genjax.load`): decoded samples with their options, the bound.

def _nll(family, params, batch, context):
  """The family's likelihood, jitted as `genjax.load` does (frozen params an argument)."""
  score = jax.jit(lambda p, b, r, f: family.inference.likelihood.nll(
      p, b, r, StepContext(frozen=f)))
  return np.asarray(score(params, batch, jax.random.PRNGKey(0), context.frozen))


@pytest.fixture(scope='module')
def built_var(tokenizer, tmp_path_factory):
  """configs/var.py:smoke over the tokenizer, built (not trained) from its data and from
  the light info `genjax.load` reads back, with init params and a test batch."""
  config = unlocked(var_config, 'smoke', data=dict(stage1_workdir=str(tokenizer)))
  data = var.FAMILY.data(config, 0, 1)
  family = var.FAMILY.build(config, data.info)
  directory = str(tmp_path_factory.mktemp('info'))
  info_file.write(data.info, directory)
  light = var.FAMILY.build(config, info_file.read(directory))
  params = family.training.init_params(jax.random.PRNGKey(0), data.train.batch(0))
  batch = next(iter(data.splits['test'](16, 0, 1, 16)))
  batch.pop('mask')
  return config, data, family, light, params, batch, StepContext(frozen=family.training.frozen)


def _draw(family, params, context, seed, num=6, **options):
  options = {**family.inference.sample_options, **options}
  return np.asarray(family.inference.sample(params, jax.random.PRNGKey(seed), num, context,
                                            **options))


def test_var_built_without_the_data_samples_and_scores_the_same(built_var):
  config, _, family, light, params, batch, context = built_var
  assert light.reporting.artifacts_fn is None
  assert family.inference.sample_options == light.inference.sample_options == {
      'label': None, 'guidance': 1.0, 'guidance_ramp': config.eval.guidance_ramp,
      'top_k': config.eval.top_k, 'top_p': config.eval.top_p}
  np.testing.assert_array_equal(_draw(light, params, context, 1, guidance=2.0),
                                _draw(family, params, context, 1, guidance=2.0))
  np.testing.assert_array_equal(_nll(light, params, batch, context),
                                _nll(family, params, batch, context))


def test_vars_bound_is_the_evals_in_nats(built_var):
  _, _, family, _, params, batch, context = built_var
  likelihood = family.inference.likelihood
  assert not likelihood.exact and likelihood.dims == 64  # the 8x8 images, not 5 tokens
  nats = _nll(family, params, batch, context)
  terms = family.reporting.eval_fn(params, batch, jax.random.PRNGKey(0), context)
  np.testing.assert_allclose(nats / (64 * math.log(2)), terms['bound_bits_per_dim'],
                             rtol=1e-6)
  no_codes = {k: v for k, v in batch.items() if k != 'codes'}  # the tokenizer encodes them
  np.testing.assert_allclose(_nll(family, params, no_codes, context), nats, rtol=1e-6)


def test_vars_sample_options_reach_its_sampler(built_var, tokenizer):
  config, data, family, _, params, _, context = built_var
  stage1 = load_stage1(str(tokenizer))
  model = var.make_model(config.model, stage1.objective.scales, stage1.num_codes,
                         data.info.num_classes)
  frozen = context.frozen

  def direct(seed, y, **options):  # VAR's sampler, decoded by the tokenizer
    tokens = var_samplers.sample(model, params, stage1.objective, frozen['params'],
                                 frozen['model_state'], jax.random.PRNGKey(seed), 6, y,
                                 **options)[0]
    mean = stage1.objective.decode_codes(frozen['params'], frozen['model_state'],
                                         tokens[:, None])[0]
    return np.asarray(vq_objectives.decoder_mean01(stage1.objective.likelihood, mean))

  threes = jnp.full((6,), 3)
  np.testing.assert_allclose(_draw(family, params, context, 2, label=3), direct(2, threes),
                             atol=1e-6)
  np.testing.assert_allclose(_draw(family, params, context, 2),
                             direct(2, jnp.arange(6) % 10), atol=1e-6)  # None cycles
  options = dict(guidance=3.0, guidance_ramp=True, top_k=4, top_p=0.9)
  guided = _draw(family, params, context, 2, label=3, **options)
  np.testing.assert_allclose(guided, direct(2, threes, guidance=3.0, ramp=True, top_k=4,
                                            top_p=0.9), atol=1e-6)
  assert not np.array_equal(guided, _draw(family, params, context, 2, label=3))
  # top_k = 1 draws the most probable tokens whatever the key.
  np.testing.assert_array_equal(_draw(family, params, context, 2, label=3, top_k=1),
                                _draw(family, params, context, 9, label=3, top_k=1))
  assert not np.array_equal(_draw(family, params, context, 9, label=3),
                            _draw(family, params, context, 2, label=3))
  # An unconditional VAR takes no label and no guidance.
  uncond = unlocked(var_config, 'smoke,uncond', data=dict(stage1_workdir=str(tokenizer)))
  inference = var.FAMILY.build(uncond, data.info).inference
  assert set(inference.sample_options) == {'top_k', 'top_p'}
