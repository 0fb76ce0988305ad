"""benchmarks/all.py: rows read from every benchmark's committed JSON, the table (with the
convolutions' share of FLOPs and its verdict), and a failing or missing benchmark reported
as a row instead of stopping the run. Offline: no benchmark is run (the runner is
replaced)."""

import json
import math
import os

import pytest

from benchmarks import all as run_all
from benchmarks.conv_share import ConvShare

RESULTS = os.path.join(run_all.REPO, 'results', 'benchmarks')
BY_NAME = {b.name: b for b in run_all.BENCHMARKS}

# A word2vec_gensim.json as its main writes it, for when no run has been committed.
WORD2VEC = {'sides': {
    'genjax (batch 1024)': {'words_per_sec': 4.0e5, 'seconds': 20.0},
    'gensim (1 worker)': {'words_per_sec': 3.0e5, 'seconds': 27.0},
    'gensim (2 workers)': {'words_per_sec': 5.0e5, 'seconds': 16.0}}, 'busy': False}

# The ratio each benchmark reports itself, where it reports one: the table must agree.
OWN_RATIO = {
    'vae_throughput': ('VAE train', lambda r: r['ratios']['genjax train / torch train preloaded']),
    'autoregressive_train': ('PixelCNN train', lambda r: r['models']['pixelcnn']['ratio']),
    'diffusion_throughput': ('U-Net train', lambda r: r['ratios_genjax_over_torch']['train']),
    'vqvae_train': ('VQ-VAE train', lambda r: r['ratio_genjax_over_torch']),
    'gan_train': ('DCGAN train (D and G)', lambda r: r['ratio_genjax_over_torch']),
    'glow_train': ('Glow train', lambda r: r['ratio_genjax_over_torch']),
    'gmm_sklearn': ('GMM EM fit, full covariance',
                    lambda r: r['ratios']['full: sklearn / genjax family step']),
    'pca_sklearn': ('PCA fit, 50 components',
                    lambda r: r['speedups']['sklearn full / genjax (best s)']),
}


def _fixture(name):
  path = os.path.join(RESULTS, f'{name}.json')
  if not os.path.exists(path):
    pytest.skip(f'no committed {path}')
  with open(path) as f:
    return json.load(f)


@pytest.mark.parametrize('name', sorted(BY_NAME))
def test_rows_from_the_committed_json_have_positive_rates_and_their_ratio(name):
  rows = BY_NAME[name].rows(_fixture(name))
  assert rows
  for row in rows:
    for rate in (row.genjax, row.peer):
      assert math.isfinite(rate) and rate > 0, row
    assert row.ratio == pytest.approx(row.genjax / row.peer)
    assert row.compile_s is None or row.compile_s >= 0
    assert row.conv_share is None or 0 <= row.conv_share <= 1


@pytest.mark.parametrize('name', sorted(OWN_RATIO))
def test_the_table_ratio_is_the_benchmarks_own(name):
  result = _fixture(name)
  step, own = OWN_RATIO[name]
  (row,) = [r for r in BY_NAME[name].rows(result) if r.step == step and r.peer_side in (
      '', 'preloaded', 'full')]
  assert row.ratio == pytest.approx(own(result))


def test_word2vec_rows_compare_each_genjax_batch_with_gensim_on_the_most_workers():
  (row,) = run_all.word2vec_rows(WORD2VEC)
  assert (row.step, row.peer_side, row.ratio) == ('word2vec train, batch 1024', '2 workers',
                                                  pytest.approx(0.8))


def test_rows_without_the_peer_have_no_ratio():
  result = {'examples_per_sec_median': {'genjax': 10.0}, 'genjax_compile_s': 3.0}
  (row,) = run_all.one_train_step('GAN')(result)
  assert row.peer is None and row.ratio is None and row.compile_s == 3.0


def test_table_lines_up_and_says_n_a_for_what_is_missing():
  rows = [(BY_NAME['vae_throughput'], run_all.Row('VAE train', 'ex/s', 36261.6, 29011.9,
                                                  'preloaded', 141.7, 12.34, 0.0)),
          (BY_NAME['gan_train'], run_all.Row('gan_train', note='exit 1: boom'))]
  lines = run_all.format_table(rows).splitlines()
  assert len({len(line) for line in lines}) == 1  # every line as wide as the header
  assert "convolutions' share of FLOPs" in lines[0]
  cells = [c.strip() for c in lines[2].split('|')[1:-1]]
  assert cells == ['VAE train', '36,262 ex/s', 'PyTorch (preloaded)', '29,012 ex/s', '1.25x',
                   '142', '12.3', '0 (no convolutions)', '']
  cells = [c.strip() for c in lines[3].split('|')[1:-1]]
  assert cells == ['gan_train', 'n/a', 'PyTorch', 'n/a', 'n/a', 'n/a', 'n/a', 'n/a',
                   'exit 1: boom']


@pytest.mark.parametrize('share, cell', [
    ((0.93, 0.0), '93%, convolution-bound'), ((run_all.CONV_BOUND, 0.0), '50%, convolution-bound'),
    ((0.9, 0.6), '90% (60% as taps), convolution-bound'), ((0.49, 0.0), '49%'),
    ((0.002, 0.0), '2.0e-03'), ((0.0, 0.0), '0 (no convolutions)'), ((None, None), 'n/a')])
def test_the_share_column_says_convolution_bound_from_one_half(share, cell):
  row = run_all.Row('DCGAN train (D and G)', 'ex/s', 100.0, 200.0, conv_share=share[0],
                    conv_share_taps=share[1])
  lines = run_all.format_table([(BY_NAME['gan_train'], row)]).splitlines()
  header = [c.strip() for c in lines[0].split('|')[1:-1]]
  cells = dict(zip(header, (c.strip() for c in lines[2].split('|')[1:-1])))
  assert cells["convolutions' share of FLOPs"] == cell


def test_rows_carry_each_timed_steps_share_from_the_json():
  share = lambda total, taps: ConvShare(xla=total - taps, taps=taps).record()
  diffusion = {'images_per_sec_best': {'genjax train': 2.0, 'torch train': 4.0,
                                       'genjax DDIM 50 steps': 8.0},
               'genjax_compile_s': {'train': 30.0, 'DDIM': 9.0},
               'genjax_conv_flop_share': {'train': share(0.8, 0.8), 'DDIM': share(0.7, 0.7)}}
  shares = {r.step: (r.conv_share, r.conv_share_taps) for r in run_all.diffusion_rows(diffusion)}
  assert shares == {'U-Net train': (0.8, 0.8), 'DDIM sampling, 50 steps': (0.7, 0.7)}
  one = {'examples_per_sec_median': {'genjax': 10.0}, 'genjax_conv_flop_share': share(0.6, 0.1)}
  (row,) = run_all.one_train_step('GAN')(one)
  assert (row.conv_share, row.conv_share_taps) == (pytest.approx(0.6), pytest.approx(0.1))
  word2vec = {'sides': {name: {**side, 'genjax_conv_flop_share': share(0.0, 0.0)}
                        for name, side in WORD2VEC['sides'].items()}}
  (row,) = run_all.word2vec_rows(word2vec)
  assert row.conv_share == 0.0
  (row,) = run_all.word2vec_rows(WORD2VEC)  # a JSON from before the share was recorded
  assert row.conv_share is None


def _main_with(monkeypatch, tmp_path, run, installed=True, only='gan_train,pca_sklearn'):
  monkeypatch.setattr(run_all, 'run_benchmark', run)
  monkeypatch.setattr(run_all, 'peer_installed', lambda peer: installed)
  out = tmp_path / 'all.json'
  run_all.main(['--quick', '--only', only, '--out', str(out)])
  return json.loads(out.read_text())


def test_a_failing_benchmark_is_a_row_and_the_next_still_runs(monkeypatch, tmp_path, capsys):
  def run(command, log_path, timeout_s):
    name = command[2].split('.')[-1]
    if name == 'gan_train':
      return run_all.Run('failed', 1.0, 'exit 1: RuntimeError: boom')
    with open(command[-1], 'w') as f:  # --out is the last argument
      f.write(json.dumps(_fixture('pca_sklearn')))
    return run_all.Run('ok', 2.0)

  result = _main_with(monkeypatch, tmp_path, run)
  assert result['benchmarks']['gan_train']['status'] == 'failed'
  assert result['benchmarks']['pca_sklearn']['status'] == 'ok'
  assert result['benchmarks']['pca_sklearn']['busy'] is False
  pca = [r for r in result['rows'] if r['benchmark'] == 'pca_sklearn']
  assert {r['peer_library'] for r in pca} == {'scikit-learn'}
  assert all(r['ratio'] == pytest.approx(r['genjax'] / r['peer']) for r in pca)
  notes = {r['step']: r['note'] for r in result['rows']}
  assert notes['gan_train'] == 'exit 1: RuntimeError: boom'
  assert 'cpu_model' in result['machine']
  assert 'RuntimeError: boom' in capsys.readouterr().out


def test_a_missing_peer_is_a_row_that_says_how_to_install_it(monkeypatch, tmp_path):
  def run(command, log_path, timeout_s):
    raise AssertionError('a benchmark whose peer is missing must not be started')

  result = _main_with(monkeypatch, tmp_path, run, installed=False, only='vae_throughput')
  (row,) = result['rows']
  assert row['note'] == 'PyTorch not installed; pip install -e ".[bench]"'
  assert result['benchmarks']['vae_throughput']['status'] == 'not run'


def test_a_json_of_another_shape_is_a_row_not_a_crash(monkeypatch, tmp_path):
  def run(command, log_path, timeout_s):
    with open(command[-1], 'w') as f:
      f.write('{"something": "else"}')
    return run_all.Run('ok', 1.0)

  result = _main_with(monkeypatch, tmp_path, run, only='glow_train')
  assert result['benchmarks']['glow_train']['status'] == 'failed'
  assert "KeyError: 'examples_per_sec_median'" in result['rows'][0]['note']


def test_only_rejects_an_unknown_name():
  with pytest.raises(SystemExit):
    run_all.parse_args(['--only', 'vae_throughput,nope'])
