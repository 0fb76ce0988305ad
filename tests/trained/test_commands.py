"""`python -m genjax.sample`, `genjax.score` and `genjax.export` over a finished VAE smoke
run: the grid and raw samples equal `genjax.load`'s, the score is the bound's mean with
its standard error, and the export samples the same."""

import json
import os
import subprocess
import sys

import matplotlib.image
import numpy as np
import pytest

import genjax
from genjax.figures import grid
from tests.conftest import REPO
from tests.smoke_runs import trained


def _run(*args):
  result = subprocess.run([sys.executable, '-m', *args], cwd=REPO, capture_output=True,
                          text=True, timeout=600)
  assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
  return result.stdout


@pytest.fixture
def vae_run():
  return str(trained('vae').workdir)


@pytest.mark.slow
def test_sample_score_and_export_from_the_command_line(vae_run, tmp_path):
  out = tmp_path / 'samples.png'
  _run('genjax.sample', f'--workdir={vae_run}', '--num=9', '--seed=4', f'--out={out}')
  raw = np.load(tmp_path / 'samples.npz')['samples']
  np.testing.assert_allclose(raw, genjax.load(vae_run).sample(4, 9), rtol=1e-6)
  grid = matplotlib.image.imread(out)
  assert grid.shape[:2] == (3 * 8 + 2, 3 * 8 + 2)  # 3x3 tiles of 8x8, 1-pixel gaps

  score = json.loads(_run('genjax.score', f'--workdir={vae_run}', '--k=2',
                          '--max_examples=40', f'--out={tmp_path / "score.json"}'))
  assert score == json.load(open(tmp_path / 'score.json'))
  assert (score['kind'], score['examples'], score['options']) == ('bound', 40, {'k': 2})
  assert score['nll_nats_se'] > 0
  assert score['bits_per_dim'] == pytest.approx(score['nll_nats'] / (64 * np.log(2)))

  exported = tmp_path / 'export'
  _run('genjax.export', f'--workdir={vae_run}', f'--out={exported}')
  assert sorted(os.listdir(exported)) == ['config.json', 'data_info.json', 'model.json',
                                          'params.safetensors']
  _run('genjax.sample', f'--workdir={exported}', '--num=9', '--seed=4',
       f'--out={tmp_path / "again.png"}')
  np.testing.assert_array_equal(np.load(tmp_path / 'again.npz')['samples'], raw)


def test_texts_are_written_one_per_line_beside_their_raw_array(tmp_path):
  texts = np.asarray(['the cat', 'a dog'])
  written = grid.save_samples(texts, str(tmp_path / 'texts.txt'))
  assert open(written[0]).read() == 'the cat\na dog\n'
  np.testing.assert_array_equal(np.load(written[1])['samples'], texts)


def test_an_unfinished_run_is_used_when_asked(vae_run, tmp_path):
  import shutil  # pylint: disable=g-import-not-at-top
  copy = tmp_path / 'unfinished'
  shutil.copytree(vae_run, copy)
  os.remove(copy / 'final_metrics.json')
  with pytest.raises(genjax.trained.loading.UnfinishedRunError, match='step 8'):
    genjax.load(str(copy))
  model = genjax.load(str(copy), allow_unfinished=True)
  assert not model.finished and 'unfinished' in repr(model)
  np.testing.assert_array_equal(model.sample(0, 2), genjax.load(vae_run).sample(0, 2))


@pytest.mark.slow
def test_a_run_saved_over_four_devices_samples_and_scores_on_one(tmp_path):
  workdir = tmp_path / 'four'
  env = {**os.environ,
         'XLA_FLAGS': os.environ.get('XLA_FLAGS', '') + ' --xla_force_host_platform_device_count=4'}
  result = subprocess.run([sys.executable, '-m', 'experiments.vae', '--config=configs/vae.py:smoke',
                           f'--workdir={workdir}'], cwd=REPO, capture_output=True, text=True,
                          timeout=600, env=env)
  assert result.returncode == 0, result.stderr[-3000:]
  import jax  # pylint: disable=g-import-not-at-top
  assert jax.device_count() == 1
  model = genjax.load(str(workdir))
  assert np.all(np.isfinite(model.sample(0, 4)))
  assert np.isfinite(model.score(max_examples=16, k=2)['nll_nats'])


@pytest.mark.slow
def test_a_text_model_completes_prompts_from_the_command_line(tmp_path):
  workdir = str(trained('char_lm').workdir)
  out = tmp_path / 'completions.txt'
  _run('genjax.sample', f'--workdir={workdir}', '--prompt=The ,A', '--seed=2',
       '--temperature=0.5', f'--out={out}')
  lines = open(out).read().splitlines()
  assert lines == genjax.load(workdir).complete(['The ', 'A'], 2, temperature=0.5)
  assert lines[0].startswith('The ') and lines[1].startswith('A')
