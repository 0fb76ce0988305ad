"""Every experiment's `smoke` variant runs end to end from its command line, and every tool
main runs on smoke runs."""

import glob
import importlib
import json
import os
import subprocess
import sys

import numpy as np
import pytest

from genjax.errors import UserError
from genjax.tools import bound as bound_lib
from genjax.tools import fd_vs_steps
from tests.smoke_runs import over_shared_vqvae, scored_ddpm, trained

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _configs_with_a_smoke_variant():
  """Every configs/<name>.py whose VARIANTS has 'smoke': experiments/<name>.py runs it."""
  names = []
  for path in sorted(glob.glob(os.path.join(REPO, 'configs', '*.py'))):
    name = os.path.basename(path)[:-3]
    if name.startswith('_') or name == 'variants':
      continue
    if 'smoke' in importlib.import_module(f'configs.{name}').VARIANTS:
      names.append(name)
  return names


SMOKE = _configs_with_a_smoke_variant()

# What each experiment's smoke run must draw, beside what every run shows (progress); an
# experiment with a smoke variant and no entry is still run and checked for that.
FIGURES = {
    'vae': ['samples.png', 'reconstructions.png', 'interpolation.png'],
    'vae_paper': ['fig2_lower_bound.png', 'fig4_manifold.png', 'fig5_samples.png',
                  'latent_scatter.png', 'class_grid.png'],
    'autoregressive': ['samples.png', 'completions.png'],
    'classifier': ['confusion.png', 'predictions.png'],
    'diffusion': ['samples.png', 'ddim_samples.png', 'forward_process.png',
                  'progressive_generation.png', 'class_grid.png'],
    'pca': ['reconstructions.png', 'explained_variance.png', 'components.png',
            'latent_scatter.png'],
    'autoencoder': ['reconstructions.png'],
    'autoencoder_pca': ['error_vs_code_size.png', 'reconstructions_k2.png',
                        'reconstructions_k5.png', 'codes_2d.png'],
    'gmm': ['samples.png', 'log_likelihood.png'],
    'bayes_classifier': ['least_likely.png', 'confusion.png'],
    'glow': ['samples.png', 'interpolations.png'],
    'code_prior': ['samples.png'],
    'latent_diffusion': ['samples.png'],
    'var': ['samples.png', 'class_grids.png', 'scale_by_scale.png'],
    'flow_matching': ['samples.png', 'steps.png'],
    'maskgit': ['samples.png', 'class_grid.png', 'decoding_steps.png'],
}
# Second stages whose smoke run, named no stage-1 run, trains its upstream VQ-VAE's smoke run
# into <workdir>/stage1 first (data.stage1_config), and the figures that upstream draws.
UPSTREAM = {
    'code_prior': ['reconstructions.png', 'code_usage.png'],
    'var': ['reconstructions.png', 'coarse_to_fine.png'],
}
# Second stages whose smoke run reads the code prior's stage 1 instead (the same config),
# since training it first is the mechanism UPSTREAM's runs already test.
OVER_SHARED_VQVAE = ('latent_diffusion', 'maskgit')
# Mains that train nothing (they read trained runs or draw a figure), and their tests.
TOOLS = {
    'diffusion_fd_steps': 'test_diffusion_tools_score_a_smoke_run_with_a_smoke_classifier',
    'diffusion_bound': 'test_diffusion_tools_score_a_smoke_run_with_a_smoke_classifier',
    'receptive_field': 'test_receptive_field_draws_both_models',
    'autoregressive_table': 'test_autoregressive_table.py',
    'gan_parzen': 'tests/families/test_gan.py',
    'gan_objectives': 'tests/families/test_gan.py',
    'var_vs_raster': 'tests/families/test_var.py',
    'likelihood_table': 'test_likelihood_table.py',
    'paper_variants': 'test_paper_variants.py',
    'fid': 'tests/tools/test_fid.py',
    'fid_stats': 'tests/tools/test_fid.py',
    'aot': 'tests/tools/test_aot.py',
    'ode_likelihood': 'tests/tools/test_ode_likelihood.py',
    'paradigms': 'tests/tools/test_paradigms.py',
}

# Mains whose smoke runs from the command line in their family's test, because one reads
# another's run (a GAN's scores read a classifier) or tools read it. (The priors over a
# VQ-VAE's codes run here alone, as a new user runs them; their families' tests also run
# them over a stage 1 named by hand.)
STAGED = {
    'vqvae': 'tests/families/test_vqvae.py',
    'gan': 'tests/families/test_gan.py',
    # Text: their smoke runs' own checks (word2vec's also on two devices) are there.
    'word2vec': 'tests/families/test_word2vec.py',
    'char_lm': 'tests/experiments/test_char_lm.py',
    'gmm_sweep': 'tests/experiments/test_gmm_sweep.py',  # the smoke sweep and its figures
}

# Experiments whose smoke run, from its command line, is trained (and its progress and
# figures checked) by the test of the tools that read it, rather than a second time alone.
TRAINED_BY_TOOL_TEST = ('classifier', 'diffusion',
                        'glow', 'vae', 'autoregressive')  # test_likelihood_table.py


def _run(*args):
  return subprocess.run([sys.executable, '-m', *args], cwd=REPO, capture_output=True,
                        text=True, timeout=600)


def _train_smoke(name, workdir, *flags):
  result = _run(f'experiments.{name}', f'--config=configs/{name}.py:smoke',
                f'--workdir={workdir}', *flags)
  assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
  return result


def test_every_experiment_has_a_smoke_test():
  mains = {f[:-3] for f in os.listdir(os.path.join(REPO, 'experiments'))
           if f.endswith('.py') and not f.startswith('_')}
  assert mains == set(SMOKE) | set(TOOLS)
  # Every name the tables above key on is a main that has a smoke variant (or a tool).
  assert set(FIGURES) | set(STAGED) | set(TRAINED_BY_TOOL_TEST) | set(UPSTREAM) | set(
      OVER_SHARED_VQVAE) <= set(SMOKE)
  # they run here
  assert not (set(UPSTREAM) | set(OVER_SHARED_VQVAE)) & (set(STAGED) | set(TRAINED_BY_TOOL_TEST))
  assert not set(TOOLS) & set(SMOKE)


@pytest.mark.slow
def test_receptive_field_draws_both_models(tmp_path):
  result = _run('experiments.receptive_field', '--variant=smoke', '--row=5', '--col=5',
                f'--out={tmp_path}/rf.png')
  assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
  assert os.path.getsize(tmp_path / 'rf.png') > 1000


@pytest.mark.slow
def test_a_main_refuses_another_familys_config(tmp_path):
  result = _run('experiments.vae', '--config=configs/diffusion.py:smoke', f'--workdir={tmp_path}')
  assert result.returncode != 0
  assert "'diffusion' config, but this main trains the 'vae' family" in result.stderr
  assert not os.listdir(tmp_path)  # nothing written


def _check_smoke_run(name, result, workdir):
  assert 'examples/s' in result.stdout and 'ETA' in result.stdout  # progress is shown
  for png in FIGURES.get(name, []):
    assert os.path.getsize(os.path.join(workdir, 'figures', png)) > 1000, png


@pytest.mark.slow
@pytest.mark.parametrize('name', sorted(set(SMOKE) - set(STAGED) - set(TRAINED_BY_TOOL_TEST)))
def test_smoke_variant_runs_end_to_end(name):
  result = over_shared_vqvae(name) if name in OVER_SHARED_VQVAE else trained(name)
  workdir = result.workdir
  _check_smoke_run(name, result, workdir)
  if name == 'autoencoder_pca':  # each model's final test error at each code size
    summary = json.load(open(os.path.join(workdir, 'summary.json')))
    assert summary['code_sizes'] == [2, 5]
    assert {m: len(v) for m, v in summary['squared_error'].items()} == {
        'pca': 2, 'linear_autoencoder': 2, 'autoencoder': 2}
    assert summary['squared_error']['pca'][1] < summary['squared_error']['pca'][0]
  if name == 'bayes_classifier':  # ten digit mixtures, by Bayes' rule, on 297 test digits
    summary = json.load(open(os.path.join(workdir, 'summary.json')))['models']
    assert list(summary) == ['GMM per class (PCA features)']
    assert summary['GMM per class (PCA features)']['accuracy'] > 0.8
    assert sorted(os.listdir(workdir))[:2] == ['figures', 'gmm_class0']
  if name in UPSTREAM:
    _check_upstream_trained_first(name, result, workdir)
    result.assert_unchanged()  # the rerun found both stages done and only read them


def _check_upstream_trained_first(name, result, workdir):
  """A second stage's smoke run, named no stage-1 run, trained its upstream into
  <workdir>/stage1 first, then itself over it, each to its end; a rerun finds both done."""
  from genjax.stage2.first_stage import load_stage1  # pylint: disable=g-import-not-at-top
  out = result.stdout + result.stderr
  assert out.index('training the upstream stage 1 first') < out.index(
      'upstream stage 1 of 2') < out.index(f'stage 2 of 2 ({name})')
  stage1 = workdir / 'stage1'
  upstream = load_stage1(str(stage1))  # a finished VQ-VAE run, or it refuses
  assert json.load(open(stage1 / 'final_metrics.json'))['step'] == upstream.run.step == 8
  for png in UPSTREAM[name]:
    assert os.path.getsize(stage1 / 'figures' / png) > 1000, png
  assert json.load(open(workdir / 'final_metrics.json'))['step'] == 8
  assert json.load(open(workdir / 'config.json'))['data']['stage1_workdir'] == str(stage1)
  again = _train_smoke(name, workdir)
  assert again.stdout.count('already finished at step 8') == 2, again.stdout[-3000:]


@pytest.mark.slow
def test_diffusion_tools_score_a_smoke_run_with_a_smoke_classifier(tmp_path):
  out = tmp_path / 'out'
  classified = trained('classifier')
  classifier = classified.workdir
  _check_smoke_run('classifier', classified, classifier)
  scored = scored_ddpm()  # the session's DDPM run, scored by that classifier
  ddpm = scored.workdir
  _check_smoke_run('diffusion', scored, ddpm)
  # The run's own sample-based score is a metric, with its sample count beside it.
  final = json.load(open(ddpm / 'final_metrics.json'))
  assert final['frechet_samples'] == 24 and final['frechet_distance'] > 0
  rows = [json.loads(line) for line in open(ddpm / 'metrics.jsonl')]
  assert [r['frechet_distance'] for r in rows if r['split'] == 'artifacts'] == [
      final['frechet_distance']]
  tool = lambda workdir, *flags: _run('experiments.diffusion_fd_steps', f'--workdir={workdir}',
                                      f'--classifier={classifier}', *flags)
  result = tool(ddpm, '--num_samples=40', '--steps=2,20', '--batch_size=24',
                f'--out_dir={out}')
  assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
  assert 'ddim' in result.stdout and 'floor' in result.stdout  # progress is shown
  r = json.load(open(out / 'fd_vs_steps.json'))
  assert r['steps'] == [2, 20] and r['num_samples'] == r['floor_train_samples'] == 40
  for values in r['fd'].values():
    assert len(values) == 2 and all(v >= 0 for v in values)
  assert r['floor'] >= 0
  assert os.path.getsize(out / 'fd_vs_steps.png') > 1000
  # Refusals name the remedy in one line: another family's run (from the command line),
  # an empty dir, too many steps (in process: the same UserError the main prints).
  refusal = tool(classifier)
  assert refusal.returncode == 2 and 'Traceback' not in refusal.stderr
  assert 'error:' in refusal.stderr and 'not a diffusion run' in refusal.stderr
  classified.assert_unchanged()  # the diffusion run and the tools only read it
  (tmp_path / 'empty').mkdir()
  for workdir, steps, message in ((tmp_path / 'empty', [2], 'no genjax run'),
                                  (ddpm, [50], 'outside 1..T = 20')):
    with pytest.raises(UserError, match=message):
      fd_vs_steps.run(str(workdir), str(classifier), num_samples=40, steps=steps)

  # The bound tool: its exact bound is the run's own final one (smoke: all T terms on the
  # first 96 test images), up to the noise of x_t; an estimate from 6 terms (in process,
  # the main's own function) agrees.
  bound = lambda *flags: _run('experiments.diffusion_bound', f'--workdir={ddpm}', *flags)
  exact = tmp_path / 'exact.json'
  result = bound('--num_examples=96', '--timesteps=0', '--batch_size=40', f'--out={exact}')
  assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
  assert 'bits/dim' in result.stdout
  exact = json.load(open(exact))
  estimate = bound_lib.run(str(ddpm), num_examples=96, timesteps=6, batch_size=40,
                           out=str(tmp_path / 'estimate.json'), log=lambda *a, **k: None)
  assert exact['num_examples'] == 96 and exact['T'] == 20 and exact['bpd_standard_error'] > 0
  assert abs(exact['bpd'] - final['bpd']) < 3 * exact['bpd_standard_error'], (exact, final)
  se = np.hypot(exact['bpd_standard_error'], estimate['bpd_standard_error'])
  assert abs(exact['bpd'] - estimate['bpd']) < 3 * se, (exact, estimate)
  with pytest.raises(UserError, match=r'must be in 1\.\.297'):  # digits' test set
    bound_lib.run(str(ddpm), num_examples=20000, timesteps=0)
  scored.assert_unchanged()  # the tools only read it
