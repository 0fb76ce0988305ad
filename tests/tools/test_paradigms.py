"""The paradigms table on the session's smoke runs, one of each paradigm: the budget it
reads (parameters of the loaded model, FLOPs the loop recorded), what it measures, what it
writes, and its one-line refusals."""

import json
import math
import os
import shutil
import subprocess
import sys

import jax
import numpy as np
import pytest

import genjax
from configs import paradigms as paradigms_config
from genjax.errors import UserError
from genjax.tools import paradigm_measures as measures
from genjax.tools import paradigms
from genjax.tools.likelihood_table import RowError
from genjax.training.progress import COMPUTE_SPLIT
from tests.conftest import REPO
from tests.smoke_runs import over_shared_vqvae, scored_ddpm, trained

# Tiny on purpose: one batch size for the samples, the timing and the likelihood, so that
# each model's sampler compiles once, and one step count, the smoke runs' own for flow
# matching, latent diffusion and MaskGIT (DDPM's draws in 5). 32 samples: the smoke
# classifier's feature count, the fewest the tool takes.
_FLAGS = ('--frechet_samples=32', '--likelihood_examples=4', '--batch_size=8',
          '--throughput_batches=8', '--steps=4', '--figure_samples=4', '--tolerance=100')
_DEFAULT_STEPS = {'pixel DDPM': 5, 'pixel flow matching': 4, 'latent diffusion': 4,
                  'MaskGIT': 4}
# The fixed samplers' network evaluations: the code prior's 2x2 codes one at a time,
# VAR's two scales (1, 2), Glow's one inverse pass.
_FIXED = {'raster Transformer prior': 4, 'VAR': 2, 'Glow': 1}


def _smoke_runs():
  """{the row's workdir name in configs/paradigms.py: the shared smoke run}. The raster
  row is the code prior's smoke run (a PixelCNN over the shared VQ-VAE's codes): the tool
  reads a code prior's run the same whatever its network."""
  return {'ddpm': scored_ddpm(), 'flow_matching': trained('flow_matching'),
          'latent_diffusion': over_shared_vqvae('latent_diffusion'),
          'raster_prior': trained('code_prior'), 'var': trained('var'),
          'maskgit': over_shared_vqvae('maskgit'), 'glow': trained('glow')}


def _runs_dir(path, runs, **replaced):
  """A runs_dir whose names link to the smoke runs (or to `replaced` paths; None: absent)."""
  os.makedirs(path)
  for name, run in runs.items():
    target = replaced.get(name, run.workdir)
    if target is not None:
      os.symlink(target, os.path.join(path, name))
  return str(path)


def _config(runs_dir):
  config = paradigms_config.get_config()
  config.unlock()
  config.runs_dir = runs_dir
  config.classifier = str(trained('classifier').workdir)
  return config


def _tool(*args):
  return subprocess.run([sys.executable, '-m', 'experiments.paradigms', *args], cwd=REPO,
                        capture_output=True, text=True, timeout=600)


@pytest.fixture(scope='module')
def smoke():
  return _smoke_runs()


@pytest.fixture(scope='module')
def table(smoke, tmp_path_factory):
  """The tool's table.json rows, by name, and its out_dir, as its command line wrote them."""
  root = tmp_path_factory.mktemp('paradigms')
  runs_dir = _runs_dir(root / 'runs', smoke)
  out = root / 'out'
  result = _tool(f'--config.runs_dir={runs_dir}',
                 f"--config.classifier={trained('classifier').workdir}", f'--out_dir={out}',
                 *_FLAGS)
  assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
  rows = json.load(open(out / 'table.json'))['rows']
  for run in smoke.values():
    run.assert_unchanged()
  return {r['name']: r for r in rows}, out, result.stdout


def test_each_row_is_its_runs_model_and_recorded_compute(table, smoke):
  rows, _, _ = table
  assert list(rows) == [r['name'] for r in paradigms_config.get_config().rows]
  for spec in paradigms_config.get_config().rows:
    row, run = rows[spec['name']], smoke[spec['workdir']]
    model = genjax.load(str(run.workdir))
    assert model.family == spec['family'] == row['family']
    assert row['params'] == sum(np.size(x) for x in jax.tree.leaves(model.params))
    metrics = [json.loads(line) for line in open(run.workdir / 'metrics.jsonl')]
    compute = [r for r in metrics if r['split'] == COMPUTE_SPLIT]
    assert len(compute) == 1  # written once, after the first compiled call
    train = [r for r in metrics if r['split'] == 'train']
    assert row['train_steps'] == train[-1]['step'] == model.step
    assert row['train_flops'] == (compute[0]['flops_per_step'] * compute[0]['devices'] *
                                  model.step)
    # The progress rows' rate is the same count of FLOPs over each interval's time.
    timed = [r for r in train if r['steps_per_sec'] > 0]
    np.testing.assert_allclose(timed[-1]['device_flops_per_sec'] / timed[-1]['steps_per_sec'],
                               compute[0]['flops_per_step'], rtol=1e-5)
    assert row['data'] == 'digits' and row['departures'] == spec['departures']
    assert 0 < row['train_minutes'] < 10


def test_the_frechet_distances_their_floor_and_the_steps_curves(table):
  rows, _, _ = table
  floors = {r['fd_floor'] for r in rows.values()}
  assert len(floors) == 1  # one floor: the same train images for every row
  for name, r in rows.items():
    assert 0 < r['fd_floor'] < r['fd'], name
    if name in _DEFAULT_STEPS:
      [point] = r['fd_vs_steps']
      assert point['steps'] == point['evaluations'] == 4, name
      if _DEFAULT_STEPS[name] == 4:
        # The same keys at the run's own step count: the table's draw, the same distance.
        assert point['fd'] == pytest.approx(r['fd'], rel=1e-6), name
      assert r['evaluations'] == _DEFAULT_STEPS[name]
    else:
      assert r['fd_vs_steps'] == [{'steps': _FIXED[name], 'evaluations': _FIXED[name],
                                   'fd': pytest.approx(r['fd'], rel=1e-6)}], name
      assert r['evaluations'] == _FIXED[name]
    assert set(r['images_per_sec']) == {'8'} and r['images_per_sec']['8'] > 0


def test_a_curve_keeps_to_the_step_counts_its_sampler_takes(smoke):
  load = lambda name: genjax.load(str(smoke[name].workdir))
  assert measures.step_limit(load('maskgit')) == 4  # its 2x2 codes, one a step at least
  assert measures.step_limit(load('ddpm')) == load('ddpm').config.objective.timesteps
  assert measures.step_limit(load('glow')) is None  # no steps: one point
  # 5 steps are beyond MaskGIT's 4 codes: no point, and nothing drawn.
  assert measures.fd_against_steps(load('maskgit'), None, [5], num_samples=2, batch_size=2,
                                   seed=0) == []
  # A fixed sampler's one point is the table's own draw: given its distance, nothing is
  # drawn or scored again (no scorer here).
  assert measures.fd_against_steps(load('glow'), None, [4], num_samples=2, batch_size=2,
                                   seed=0, fixed_fd=7.5) == [
                                       {'steps': 1, 'evaluations': 1, 'fd': 7.5}]


def test_each_likelihood_has_its_kind_and_scores_the_first_test_images(table, smoke):
  rows, _, _ = table
  kinds = {name: r['likelihood']['kind'] for name, r in rows.items()}
  assert kinds == {'pixel DDPM': 'bound', 'pixel flow matching': 'exact (ODE)',
                   'latent diffusion': 'none', 'raster Transformer prior': 'bound',
                   'VAR': 'bound', 'MaskGIT': 'none', 'Glow': 'exact'}
  for name, r in rows.items():
    like = r['likelihood']
    if like['kind'] == 'none':
      assert like['bits_per_dim'] is None and like['examples'] == 0
    else:
      assert like['examples'] == 4 and like['bits_per_dim'] > 0 and like['se'] >= 0, name
  # Glow's exact log p of the first 4 test images, in bits/dim, is the row's number: the
  # tool's one batch of 8 (4 of them padding) with its first batch's key.
  glow = genjax.load(str(smoke['glow'].workdir))
  batch = next(glow.batches('test', batch_size=8, max_examples=4, keep_padding=True))
  shown = np.asarray(batch.pop('mask')) > 0
  scores = glow.log_prob(batch, rng=jax.random.fold_in(jax.random.PRNGKey(0), 0))
  np.testing.assert_allclose(rows['Glow']['likelihood']['bits_per_dim'],
                             scores.bits_per_dim[shown].mean(), rtol=1e-5)


def test_the_table_and_both_figures_are_written(table):
  rows, out, stdout = table
  md = open(out / 'table.md').read()
  assert md.strip() in stdout
  assert 'within 10000% of their median' in md  # --tolerance=100, said in the table
  body = [line for line in md.splitlines() if line.startswith('| ')]
  assert len(body) == 1 + len(rows)  # the header and one line a paradigm
  assert 'images/s at 8' in body[0] and 'departures from the paper' in body[0]
  for name, r in rows.items():
    line = next(line for line in body if line.startswith(f'| {name} |'))
    assert f"{r['params']:,}" in line and r['likelihood']['kind'] in line
  for png in ('samples.png', 'fd_vs_steps.png'):
    assert os.path.getsize(out / png) > 1000


def test_a_budget_the_runs_do_not_match_is_refused_in_one_line(smoke, tmp_path):
  runs_dir = _runs_dir(tmp_path / 'runs', smoke)
  read = [paradigms.read_row(spec, runs_dir) for spec in _config(runs_dir).rows]
  params = [r['params'] for r in read]
  median = float(np.median(params))
  worst = max(read, key=lambda r: abs(r['params'] / median - 1))
  with pytest.raises(paradigms.BudgetError) as refusal:
    paradigms.check_budget(read, 0.1)
  message = str(refusal.value)
  assert '\n' not in message
  assert message.startswith(f"{worst['name']}: {worst['params']:,} parameters")
  assert f'median {median:,.0f}' in message and worst['command'] in message
  needed = float(message.split('--tolerance=')[1].split()[0])
  assert needed >= abs(worst['params'] / median - 1) > 0.1
  # Equal parameters and one row's FLOPs 25% over the median: refused for its FLOPs, and
  # admitted at the tolerance the refusal names.
  equal = [dict(r, params=1000, train_flops=4e9) for r in read]
  equal[2]['train_flops'] = 5e9
  with pytest.raises(paradigms.BudgetError) as over:
    paradigms.check_budget(equal, 0.1)
  assert str(over.value).startswith(f"{equal[2]['name']}: 5,000,000,000 training FLOPs, "
                                    "+25% from the rows' median 4,000,000,000")
  assert '--tolerance=0.25 ' in str(over.value)
  paradigms.check_budget(equal, 0.25)
  equal[2]['train_flops'] = 4.2e9  # 5% apart: within the default tolerance
  paradigms.check_budget(equal, 0.1)
  # The tool refuses them before it loads a model or samples (the main prints the
  # UserError's line and exits 2).
  with pytest.raises(paradigms.BudgetError) as refusal:
    paradigms.build(_config(runs_dir), paradigms.Options(),
                    log=lambda line: pytest.fail(f'went on past the budget: {line}'))
  assert isinstance(refusal.value, UserError) and str(refusal.value) == message


def _options():
  """The Options of _FLAGS."""
  return paradigms.Options(frechet_samples=32, likelihood_examples=4, batch_size=8,
                           throughput_batches=(8,), steps=(4,), figure_samples=4,
                           tolerance=100)


def test_a_second_table_keeps_each_rows_measurements(table, smoke, tmp_path, monkeypatch):
  rows, out, _ = table
  # The same runs through other links, and the same options: every row is the first
  # table's, and nothing is drawn again.
  monkeypatch.setattr(measures, 'draw', lambda *a, **k: pytest.fail('drew samples again'))
  lines = []
  again, samples = paradigms.build(_config(_runs_dir(tmp_path / 'runs', smoke)), _options(),
                                   log=lines.append, cache_dir=str(out / 'measured'))
  assert sum(line.endswith('; kept') for line in lines) == len(rows)
  for row in again:
    first = rows[row['name']]
    for key in ('fd', 'fd_floor', 'evaluations', 'likelihood', 'fd_vs_steps'):
      assert row[key] == first[key], (row['name'], key)
    assert row['images_per_sec'] == {8: first['images_per_sec']['8']}
    assert samples[row['name']].shape[0] == 4
  assert paradigms.markdown(again, 100) == open(out / 'table.md').read()


def _read_glow(runs_dir):
  spec = next(s for s in _config(runs_dir).rows if s['name'] == 'Glow')
  return paradigms.read_row(spec, runs_dir)


def test_a_missing_unfinished_or_other_familys_run_is_refused_in_one_line(smoke, tmp_path):
  glow = smoke['glow'].workdir
  unfinished = tmp_path / 'copies' / 'unfinished'
  shutil.copytree(glow, unfinished)
  os.remove(unfinished / 'final_metrics.json')
  unrecorded = tmp_path / 'copies' / 'unrecorded'  # a run trained before the loop wrote its FLOPs
  shutil.copytree(glow, unrecorded)
  rows = [line for line in open(glow / 'metrics.jsonl') if COMPUTE_SPLIT not in line]
  (unrecorded / 'metrics.jsonl').write_text(''.join(rows))
  cases = {'missing': (None, 'holds no genjax run'),
           'other': (smoke['flow_matching'].workdir, "holds a 'flow_matching' run, not a glow"),
           'unfinished': (unfinished, 'is unfinished'),
           'unrecorded': (unrecorded, 'no record of its training FLOPs')}
  for case, (target, words) in cases.items():
    runs_dir = _runs_dir(tmp_path / case, smoke, glow=target)
    with pytest.raises(RowError) as refusal:
      _read_glow(runs_dir)
    message = str(refusal.value)
    assert '\n' not in message and message.startswith('Glow: ') and words in message, case
    assert 'python -m experiments.glow' in message, case
  smoke['glow'].assert_unchanged()
  # From the command line: the refusal is the main's one line, and it exits 2.
  result = _tool(f'--config.runs_dir={tmp_path / "none"}', f'--out_dir={tmp_path / "out"}')
  lines = result.stderr.strip().splitlines()
  assert result.returncode == 2 and 'Traceback' not in result.stderr, result.stderr[-3000:]
  assert lines[-1].startswith(f'error: pixel DDPM: {tmp_path}/none/ddpm holds no genjax run')
  assert not os.path.exists(tmp_path / 'out')


def test_the_rows_name_their_paradigms_and_cpu_commands():
  rows = paradigms_config.get_config().rows
  assert [r['family'] for r in rows] == ['diffusion', 'flow_matching', 'latent_diffusion',
                                         'code_prior', 'var', 'maskgit', 'glow']
  assert all(':cpu' in r['command'] and r['departures'] for r in rows)
  assert 'configs/code_prior.py:cpu,transformer' in rows[3]['command']
  assert math.isclose(paradigms.Options().tolerance, 0.1)


def test_the_reflow_variant_pairs_the_flow_matching_row_with_its_reflow():
  flow, reflow = paradigms_config.get_config('reflow').rows
  assert flow == paradigms_config.get_config().rows[1]
  assert reflow['family'] == 'flow_matching'
  teacher = f"runs/paradigms/{flow['workdir']}"
  assert f'--config.data.reflow_teacher={teacher} ' in reflow['command']
  assert f"--workdir=runs/paradigms/{reflow['workdir']}" in reflow['command']
  # The same network and steps as the teacher's run: its command's flags, with reflow's.
  for flag in flow['command'].split():
    if not flag.startswith('--workdir'):
      assert flag in reflow['command'].split(), flag


@pytest.mark.parametrize('options,message', [
    (dict(tolerance=-0.1), '--tolerance=-0.1: a fraction of the median, 0 or more'),
    (dict(frechet_samples=0), '--frechet_samples=0: give a positive number'),
    (dict(likelihood_examples=-1), '--likelihood_examples=-1: give 0'),
    (dict(throughput_batches=(16, 0)), '--throughput_batches=16,0: give positive integers'),
    (dict(steps=()), '--steps=: give positive integers'),
])
def test_a_bad_option_is_refused_in_one_line(options, message):
  with pytest.raises(UserError) as refusal:
    paradigms.Options(**options)
  assert str(refusal.value).startswith(message) and '\n' not in str(refusal.value)


def test_fewer_samples_than_the_classifier_has_features_are_refused_before_sampling(
    smoke, tmp_path, monkeypatch):
  def draw(*args, **kwargs):
    raise AssertionError('sampled before refusing')

  monkeypatch.setattr(measures, 'draw', draw)
  config = _config(_runs_dir(tmp_path / 'runs', smoke))
  with pytest.raises(UserError) as refusal:
    paradigms.build(config, paradigms.Options(frechet_samples=31, tolerance=100),
                    log=lambda line: None)
  assert str(refusal.value) == (
      f'--frechet_samples=31: the classifier at {config.classifier} has 32 features, and the '
      'Fréchet distance needs at least as many samples; pass --frechet_samples=32 or more '
      "(1000: the table's default).")


def test_a_bad_flag_is_refused_in_one_line_before_any_run_is_read(tmp_path):
  result = _tool('--config.runs_dir=' + str(tmp_path / 'none'), f'--out_dir={tmp_path / "out"}',
                 '--steps=4,x')
  assert result.returncode == 2 and 'Traceback' not in result.stderr
  assert result.stderr.strip().splitlines()[-1] == (
      'error: --steps=4,x: give integers, comma-separated (e.g. 16,256).')
  assert not (tmp_path / 'out').exists()
