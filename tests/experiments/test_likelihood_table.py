"""The cross-family likelihood tables, on smoke runs (the shared ones trained from their
command lines, the tables' own variants in process): every row's number is its run's own,
in the table's unit, marked exact or a bound; rows read from committed records and
summaries keep their numbers; a run in the wrong table, or not there, is refused with the
command that makes it."""

import json
import os

import numpy as np
import pytest

from configs import autoregressive as ar_config
from configs import gmm as gmm_config
from configs import likelihood_table as table_config
from configs import vae as vae_config
from genjax.families import autoregressive, gmm, vae
from genjax.tools import likelihood_table as table_lib
from genjax.training.loop import train_and_evaluate
from genjax.training.progress import read_metrics
from tests.experiments.test_smoke import REPO, _check_smoke_run, _run
from tests.families.run_config import unlocked
from tests.smoke_runs import trained


def _last_test(workdir):
  return [r for r in read_metrics(os.path.join(workdir, 'metrics.jsonl'))
          if r['split'] == 'test'][-1]


def _train_runs(root):
  """Smoke runs under the names configs/likelihood_table.py gives its rows (one test trains
  them: with `-n 2` a module fixture would train them once per worker). The plain smoke
  runs are the session's shared ones (tests/smoke_runs.py), linked in."""
  root.mkdir()
  for name, row in (('glow', 'glow'), ('vae', 'vae_elbo'), ('autoregressive', 'ar')):
    run = trained(name)
    _check_smoke_run(name, run, run.workdir)
    os.symlink(run.workdir, root / row)
  # The rows' own variants, trained in process: the command line is the smoke runs'.
  for family, config, row in (
      (vae.FAMILY, unlocked(vae_config, 'smoke,iwae5'), 'iwae5'),
      (autoregressive.FAMILY, unlocked(ar_config, 'smoke,gray8'), 'pixelcnn_gray8'),
      (gmm.FAMILY, unlocked(gmm_config, 'smoke,pixels8', objective=dict(reg_covar=1e-4)),
       'gmm_pixels8')):
    train_and_evaluate(family, config, str(root / row))
  os.symlink(os.path.join(REPO, 'results', 'code_prior'), root / 'code_prior')
  return root


def _smoke_rows(root):
  """configs/likelihood_table.py's rows whose runs _train_runs trained (on digits)."""
  c = table_config.get_config()
  c.unlock()
  c.runs_dir = str(root)
  keep = ('glow', 'pixelcnn_gray8', 'gmm_pixels8', 'vae_elbo', 'iwae5')
  c.eight_bit = tuple(r for r in c.eight_bit if r.get('workdir') in keep)
  c.binarized = tuple(r for r in c.binarized if r.get('workdir') in keep)
  return c


def _row(table, name, **where):
  """configs/likelihood_table.py's row `name`, its workdir moved by `where`."""
  spec = next(r for r in getattr(table_config.get_config(), table) if r['name'] == name)
  return {**spec, **where}


@pytest.mark.slow
def test_each_row_is_its_runs_own_number_and_a_misplaced_run_is_refused(tmp_path):
  runs = _train_runs(tmp_path / 'runs')
  # The whole config mixes the digit smoke runs with Fashion-MNIST records: one line says so.
  result = _run('experiments.likelihood_table', '--config=configs/likelihood_table.py',
                f'--config.runs_dir={runs}', f'--out_dir={tmp_path / "out"}')
  assert result.returncode == 2 and 'Traceback' not in result.stderr
  assert "mixes datasets ['digits', 'fashion_mnist']" in result.stderr

  tables = table_lib.tables(_smoke_rows(runs))
  eight = {r['name']: r for r in tables[table_lib.EIGHT_BIT]}
  glow = eight['Glow-style flow']
  test = _last_test(runs / 'glow')
  assert (glow['value'], glow['se']) == (test['bits_per_dim'], test['bits_per_dim_se'])
  assert glow['kind'].startswith('exact') and glow['params'] > 0 and glow['train_steps'] == 8
  tests = [r for r in read_metrics(runs / 'glow' / 'metrics.jsonl') if r['split'] == 'test']
  assert [r['step'] for r in tests] == [4, 8]
  assert all(6.0 < r['bits_per_dim'] < 12.0 and 0 < r['bits_per_dim_se'] < 0.1 for r in tests)
  final = json.load(open(runs / 'glow' / 'final_metrics.json'))
  assert final['reconstruction_max_abs_error'] < 1e-5  # the inverse is exact
  assert final['test_bits_per_dim_worst'] > test['bits_per_dim']  # above the mean
  assert 0 <= final['test_worst_image'] < 297  # one of the digits' test images
  gmm = eight['Gaussian mixture, 10 full components']
  test = _last_test(runs / 'gmm_pixels8')
  assert gmm['value'] == test['bits_per_dim'] and gmm['kind'].startswith('exact')
  dims = 64  # the smoke runs' 8x8 digits
  np.testing.assert_allclose(  # Glow's formula, of the mixture's own log-likelihood
      test['bits_per_dim'], (-test['log_likelihood'] + dims * np.log(256)) / (dims * np.log(2)),
      rtol=1e-5)
  pixelcnn = eight['PixelCNN, 256-way softmax']
  assert pixelcnn['value'] == _last_test(runs / 'pixelcnn_gray8')['bits_per_dim']
  assert pixelcnn['kind'].startswith('exact')
  # Committed records (their bound file, no checkpoint) and summaries, in process.
  ddpm = table_lib.run_row(_row('eight_bit', 'DDPM (cpu U-Net)'), table_lib.EIGHT_BIT)
  bound = json.load(open(os.path.join(REPO, 'results/diffusion/cpu/bound_32.json')))
  assert (ddpm['value'], ddpm['se']) == (bound['bpd'], bound['bpd_standard_error'])
  assert ddpm['kind'].startswith('bound') and ddpm['params'] is None
  assert ddpm['test_images'] == bound['num_examples'] == 500 and glow['test_images'] == 'all'
  prior = table_lib.run_row(_row('eight_bit', 'VQ-VAE + Gated PixelCNN prior (prior params)',
                                 workdir=str(runs / 'code_prior')), table_lib.EIGHT_BIT)
  assert prior['value'] == _last_test(runs / 'code_prior')['bound_bits_per_dim']
  assert prior['kind'].startswith('bound')

  binarized = {r['name']: r for r in tables[table_lib.BINARIZED]}
  for name, workdir in (('VAE (ELBO)', 'vae_elbo'), ('IWAE, k = 5', 'iwae5')):
    final = json.load(open(runs / workdir / 'final_metrics.json'))
    assert binarized[name]['value'] == -final['iwae_8'] and final['iwae_8'] >= final['elbo'] - 1
    assert binarized[name]['kind'] == 'bound (IWAE, k = 8)'
  trained = [r for r in read_metrics(runs / 'iwae5' / 'metrics.jsonl') if r['split'] == 'train']
  assert 'iwae_5' in trained[-1] and 'kl' not in trained[-1]  # trained on its own bound
  summary = json.load(open(os.path.join(REPO, 'results/autoregressive/summary.json')))
  pixelcnn = table_lib.run_row(_row('binarized', 'PixelCNN'), table_lib.BINARIZED)
  assert pixelcnn['value'] == summary['PixelCNN']['test_nll_nats']
  assert 'not on this machine' in pixelcnn['source']

  table_lib.write(str(tmp_path / 'out'), tables)
  md = open(tmp_path / 'out' / 'eight_bit.md').read()
  assert f"| Glow-style flow | {glow['value']:.3f} ± {glow['se']:.3f} | exact" in md
  assert 'configs/glow.py:cpu' in md and md.startswith(table_lib.CONVENTIONS[table_lib.EIGHT_BIT])
  assert json.load(open(tmp_path / 'out' / 'binarized.json'))['unit'] == table_lib.BINARIZED

  # A run in the wrong table, or not there, is refused with its fix.
  binary_ar = dict(name='PixelCNN', workdir=str(runs / 'ar'), command='train it')
  with pytest.raises(table_lib.RowError, match='gray8'):
    table_lib.build_table([binary_ar], table_lib.EIGHT_BIT)
  row = table_lib.run_row(binary_ar, table_lib.BINARIZED)  # exact NLL in nats
  assert row['value'] == _last_test(runs / 'ar')['nll'] and row['kind'] == 'exact'
  with pytest.raises(table_lib.RowError, match='8-bit table'):
    table_lib.run_row(dict(name='glow', workdir=str(runs / 'glow'), command='x'),
                      table_lib.BINARIZED)
  with pytest.raises(table_lib.RowError, match="no row 'PixelCNN\\+\\+'; it has"):
    table_lib.run_row(_row('binarized', 'PixelCNN', key='PixelCNN++'), table_lib.BINARIZED)
  with pytest.raises(table_lib.RowError, match='python -m experiments.glow'):
    table_lib.run_row(dict(name='glow', workdir=str(runs / 'nowhere'),
                           command='python -m experiments.glow ...'), table_lib.EIGHT_BIT)


def test_the_probability_flow_row_is_its_tools_number_beside_the_models_bound():
  ode_name = 'DDPM (paradigms U-Net), probability-flow ODE'
  ode_spec = _row('eight_bit', ode_name)
  rows = {name: table_lib.run_row(_row('eight_bit', name), table_lib.EIGHT_BIT)
          for name in ('DDPM (paradigms U-Net)', ode_name)}
  record = os.path.join(REPO, ode_spec['record'])
  ode = json.load(open(os.path.join(record, 'ode_likelihood.json')))
  row = rows[ode_name]
  assert (row['value'], row['se'], row['test_images']) == (ode['bpd'],
                                                           ode['bpd_standard_error'], 50)
  assert row['kind'].startswith('exact density of y through the probability-flow ODE')
  # Beside it, the same model's bound on the same 50 images, from the bound tool's file.
  bound = json.load(open(os.path.join(record, 'bound_32.json')))
  row = rows['DDPM (paradigms U-Net)']
  assert (row['value'], row['se']) == (bound['bpd'], bound['bpd_standard_error'])
  assert row['kind'].startswith('bound') and row['test_images'] == bound['num_examples'] == 50
  # In the binarised table, or without its file: one line each, with the remedy.
  with pytest.raises(table_lib.RowError, match='belongs in the 8-bit table'):
    table_lib.run_row(ode_spec, table_lib.BINARIZED)
  with pytest.raises(table_lib.RowError, match='write it with python -m '
                     'experiments.ode_likelihood'):
    table_lib.run_row({**ode_spec, 'ode': 'elsewhere.json'}, table_lib.EIGHT_BIT)
