"""Every side-by-side benchmark in one command, and one table of genjax / peer ratios.

Command (from the repository root):

  .venv/bin/python -m benchmarks.all --quick [--only vae_throughput,gan_train] \
      [--out results/benchmarks/all.json]

Each benchmark in BENCHMARKS runs in a process of its own, one after another (so that they
never compete for the cores), with its quick flags under --quick and its defaults
otherwise, and writes its JSON and its printed output (.txt) into a folder named after
--out (all.json -> all/). One that fails, times out, or whose peer library is not
installed gets a row that says so, and the rest still run. The table then gives, for each
timed step: genjax's rate, the peer's (PyTorch, scikit-learn or gensim), the ratio
genjax / peer (> 1: genjax faster), GFLOP/s where the benchmark measures it, the seconds
genjax took to compile (n/a where a benchmark does not record it), and the convolutions'
share of the FLOPs of the genjax program it times (benchmarks/conv_share.py, recorded by
each benchmark as genjax_conv_flop_share), with the verdict "convolution-bound" where that
share is at least CONV_BOUND, one half. Each rate is the statistic the benchmark itself
headlines (best or median of its repeats), so the ratios are the benchmark's own. --out
gets the rows, each benchmark's status, time, busy flag and files, and the machine's
facts. Its ratios under --quick come from one short repeat each, so they are rougher than
a full run's (docs/results/performance.md).

The share counts a convolution in either of genjax's formulations: XLA's `convolution`
instruction, and taps (one matmul over the kernel's shifted views of the input,
genjax/models/conv.py and masked_conv.py), whose part the cell gives as "as taps". It is a
share of FLOPs as XLA's cost analysis counts them, not of time: XLA:CPU runs its
convolutions at a lower rate than its matmuls, so their share of a step's time is higher
still (docs/results/performance.md's U-Net profile measures the time share for the U-Net).
The convolution families' remaining gap to PyTorch is in their convolutions; the verdict
says which rows that explains.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib.util
import json
import math
import os
import re
import subprocess
import sys
import time
from typing import Callable

from benchmarks import harness

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
QUICK_TIMEOUT_S = 300.0
CONV_BOUND = 0.5  # the convolutions' share of a step's FLOPs from which it is convolution-bound
FULL_TIMEOUT_S = 3 * 3600.0


@dataclasses.dataclass(frozen=True)
class Row:
  """One timed step on both sides; peer None where the peer was not run."""
  step: str
  unit: str = ''
  genjax: float | None = None
  peer: float | None = None
  peer_side: str = ''  # which of the peer's variants, e.g. 'preloaded', '2 workers'
  gflops: float | None = None
  compile_s: float | None = None
  conv_share: float | None = None  # the convolutions' share of genjax's FLOPs; None: unknown
  conv_share_taps: float | None = None  # the part of it in convolutions computed as taps
  note: str = ''

  @property
  def ratio(self) -> float | None:
    return None if self.genjax is None or not self.peer else self.genjax / self.peer


@dataclasses.dataclass(frozen=True)
class Peer:
  name: str
  module: str  # what is imported to use it
  install: str


TORCH = Peer('PyTorch', 'torch', 'pip install -e ".[bench]"')
SKLEARN = Peer('scikit-learn', 'sklearn', 'pip install scikit-learn')
GENSIM = Peer('gensim', 'gensim', 'pip install -e ".[bench]"')


# ----------------------------------------------------------------------------- rows
# One function a benchmark: its JSON (as its own main writes it) -> its rows.


def _conv(record: dict | None) -> dict:
  """A Row's conv_share and conv_share_taps from a genjax_conv_flop_share record
  (benchmarks/conv_share.py's ConvShare.record()); none where it was not recorded."""
  return {} if record is None else {'conv_share': record['total'],
                                    'conv_share_taps': record['taps']}


def _per_second(fit: dict | None) -> float | None:
  return None if fit is None else 1 / fit['seconds_best']


def vae_rows(r: dict) -> list[Row]:
  best, train = r['examples_per_sec_best'], r['best_genjax_train']
  share = r.get('genjax_conv_flop_share', {})
  return [Row('VAE train', 'ex/s', best[train], best.get('torch train, preloaded'),
              'preloaded', r['genjax_train_gflops'][train],
              r.get('genjax_compile_s', {}).get(train), **_conv(share.get(train))),
          Row('VAE eval', 'ex/s', best['genjax eval'], best.get('torch eval'),
              **_conv(share.get('genjax eval')))]


def autoregressive_rows(r: dict) -> list[Row]:
  steps = {'pixelcnn': 'PixelCNN train', 'gated_pixelcnn': 'Gated PixelCNN train'}
  return [Row(steps.get(name, f'{name} train'), 'ex/s', m['genjax_examples_per_sec'],
              m.get('torch_examples_per_sec'), compile_s=m.get('genjax_compile_s'),
              **_conv(m.get('genjax_conv_flop_share')))
          for name, m in r['models'].items()]


def diffusion_rows(r: dict) -> list[Row]:
  best, compile_s = r['images_per_sec_best'], r.get('genjax_compile_s', {})
  share = r.get('genjax_conv_flop_share', {})
  rows = []
  for key, rate in best.items():
    if key.startswith('genjax '):
      task = key[len('genjax '):]           # 'train', 'DDPM 1000 steps', 'DDIM 50 steps'
      kind, _, steps = task.partition(' ')
      step = 'U-Net train' if kind == 'train' else f'{kind} sampling, {steps}'
      rows.append(Row(step, 'img/s', rate, best.get(f'torch {task}'),
                      compile_s=compile_s.get(kind), **_conv(share.get(kind))))
  return rows


def one_train_step(step: str) -> Callable[[dict], list[Row]]:
  """The rows of vqvae_train, gan_train and glow_train, which share one schema."""
  def rows(r: dict) -> list[Row]:
    median = r['examples_per_sec_median']
    return [Row(step, 'ex/s', median['genjax'], median.get('torch'),
                compile_s=r.get('genjax_compile_s'),
                **_conv(r.get('genjax_conv_flop_share')))]
  return rows


def gmm_rows(r: dict) -> list[Row]:
  # Fits to convergence per second, genjax's through the loop's step: the benchmark's own
  # speed-up is the ratio of seconds.
  fits = r['fits']
  rows = []
  for kind in dict.fromkeys(key.split(':')[0] for key in fits):
    genjax = fits[f'{kind}: genjax family step']
    rows.append(Row(f'GMM EM fit, {kind} covariance', 'fits/s', _per_second(genjax),
                    _per_second(fits.get(f'{kind}: sklearn')), compile_s=genjax['compile_s'],
                    **_conv(genjax.get('genjax_conv_flop_share'))))
  return rows


def pca_rows(r: dict) -> list[Row]:
  fits = r['fits']
  genjax = fits[next(key for key in fits if key.startswith('genjax pca.fit'))]
  # Its first call is compilation plus one fit, and a fit takes about seconds_best.
  compile_s = (None if genjax.get('first_call_s') is None
               else max(0.0, genjax['first_call_s'] - genjax['seconds_best']))
  step = f"PCA fit, {r['settings']['n_components']} components"
  return [Row(step, 'fits/s', _per_second(genjax), _per_second(fit), key[len('sklearn '):],
              compile_s=compile_s, **_conv(genjax.get('genjax_conv_flop_share')))
          for key, fit in fits.items() if key.startswith('sklearn ')]


def word2vec_rows(r: dict) -> list[Row]:
  # Each genjax batch size against gensim with the most worker threads it ran.
  sides = r['sides']
  gensims = [name for name in sides if name.startswith('gensim')]
  peer = max(gensims, key=lambda name: int(re.search(r'\d+', name).group()), default=None)
  return [Row(f"word2vec train, {name[len('genjax '):].strip('()')}", 'words/s',
              side['words_per_sec'], peer and sides[peer]['words_per_sec'],
              peer[len('gensim '):].strip('()') if peer else '',
              **_conv(side.get('genjax_conv_flop_share')))
          for name, side in sides.items() if name.startswith('genjax')]


@dataclasses.dataclass(frozen=True)
class Benchmark:
  name: str                      # its module in benchmarks/, and the stem of its files
  peer: Peer
  rows: Callable[[dict], list[Row]]
  quick: tuple[str, ...] = ('--quick',)  # the flags of a run in seconds, not minutes
  full: tuple[str, ...] = ()


# Quick runs time the programs the full runs time (10 fused steps a call, as the configs
# have it), with one short repeat and less data: not 1 step a call, the benchmarks' own
# --quick default, whose scan of length 1 runs the conv steps several times slower on
# XLA:CPU. DDPM runs 100 timesteps, not 1000: its rate per image is then not the full
# run's, but the ratio is comparable.
FUSED = ('--steps-per-call', '10')
BENCHMARKS = (
    Benchmark('vae_throughput', TORCH, vae_rows,
              quick=('--repeats', '1', '--min-time', '0.5', *FUSED, '--max-examples', '10000',
                     '--matmul-size', '1024')),
    Benchmark('autoregressive_train', TORCH, autoregressive_rows,
              quick=('--repeats', '1', '--min-time', '0.5', *FUSED)),
    Benchmark('diffusion_throughput', TORCH, diffusion_rows,
              quick=('--config-variant', 'cpu', '--repeats', '1', '--min-time', '0.5', *FUSED,
                     '--timesteps', '100', '--ddim-steps', '10'),
              full=('--config-variant', 'cpu')),
    Benchmark('vqvae_train', TORCH, one_train_step('VQ-VAE train'), quick=('--quick', *FUSED)),
    Benchmark('gan_train', TORCH, one_train_step('DCGAN train (D and G)'),
              quick=('--quick', *FUSED)),
    Benchmark('glow_train', TORCH, one_train_step('Glow train'), quick=('--quick', *FUSED)),
    Benchmark('gmm_sklearn', SKLEARN, gmm_rows, quick=('--quick', '--skip-step-levers')),
    Benchmark('pca_sklearn', SKLEARN, pca_rows, quick=('--quick', '--skip-svd-lever')),
    Benchmark('word2vec_gensim', GENSIM, word2vec_rows, quick=('--quick', '--workers', '2')),
)


# ----------------------------------------------------------------------------- running


@dataclasses.dataclass(frozen=True)
class Run:
  status: str          # 'ok', 'failed', 'timed out' or 'not run'
  seconds: float = 0.0
  why: str = ''


def peer_installed(peer: Peer) -> bool:
  return importlib.util.find_spec(peer.module) is not None


def _last_line(path: str) -> str:
  try:
    with open(path, errors='replace') as f:
      lines = [line.strip() for line in f if line.strip()]
  except OSError:
    return ''
  return lines[-1][:200] if lines else ''


def run_benchmark(command: list[str], log_path: str, timeout_s: float) -> Run:
  """Runs one benchmark's command with its output into log_path."""
  start = time.perf_counter()
  with open(log_path, 'w') as log:
    try:
      code = subprocess.run(command, stdout=log, stderr=subprocess.STDOUT, cwd=REPO,
                            timeout=timeout_s, check=False).returncode
    except subprocess.TimeoutExpired:
      return Run('timed out', time.perf_counter() - start,
                 f'timed out after {timeout_s:.0f} s (see {log_path})')
  seconds = time.perf_counter() - start
  if code:
    return Run('failed', seconds, f'exit {code}: {_last_line(log_path)} (see {log_path})')
  return Run('ok', seconds)


def busy_of(result: dict) -> bool | None:
  """The benchmark's own busy flag, or one computed from the load it recorded."""
  for key in ('machine_busy', 'busy'):
    if key in result:
      return bool(result[key])
  others = result.get('environment', {}).get('other_processes_cpu_share_per_repeat')
  return None if others is None else harness.machine_busy(others)


def run_one(bench: Benchmark, folder: str, quick: bool, timeout_s: float):
  """Runs one benchmark and reads its rows; returns (rows, the record for --out)."""
  json_path = os.path.join(folder, f'{bench.name}.json')
  log_path = os.path.join(folder, f'{bench.name}.txt')
  command = [sys.executable, '-m', f'benchmarks.{bench.name}',
             *(bench.quick if quick else bench.full), '--out', json_path]
  record = {'command': ' '.join(command[1:]), 'json': json_path, 'log': log_path,
            'busy': None}
  if not peer_installed(bench.peer):
    run = Run('not run', why=f'{bench.peer.name} not installed; {bench.peer.install}')
  else:
    if os.path.exists(json_path):
      os.remove(json_path)  # so that a failed run's rows never come from an earlier one
    run = run_benchmark(command, log_path, timeout_s)
  record.update(status=run.status, seconds=run.seconds, why=run.why)
  if run.status != 'ok':
    return [Row(bench.name, note=run.why)], record
  try:
    with open(json_path) as f:
      result = json.load(f)
    rows = bench.rows(result)
  except (OSError, ValueError, KeyError, TypeError, StopIteration) as e:
    why = f'its JSON could not be read: {type(e).__name__}: {e}'
    record.update(status='failed', why=why)
    return [Row(bench.name, note=why)], record
  record['busy'] = busy_of(result)
  if record['busy']:
    rows = [dataclasses.replace(row, note='machine busy') for row in rows]
  return rows, record


# ----------------------------------------------------------------------------- table


def _number(value: float | None, unit: str = '') -> str:
  if value is None or not math.isfinite(value):
    return 'n/a'
  shown = f'{value:,.0f}' if abs(value) >= 100 else f'{value:.3g}'
  return f'{shown} {unit}'.strip()


def _percent(share: float) -> str:
  return f'{share:.0%}' if share >= 0.01 else f'{share:.1e}'


def conv_verdict(share: float | None, taps: float | None = None) -> str:
  """The table's cell for the convolutions' share of a step's FLOPs, and how much of it is
  in convolutions computed as taps."""
  if share is None or not math.isfinite(share):
    return 'n/a'
  if share == 0:
    return '0 (no convolutions)'
  shown = _percent(share) + (f' ({_percent(taps)} as taps)' if taps else '')
  return f'{shown}, convolution-bound' if share >= CONV_BOUND else shown


def format_table(rows: list[tuple[Benchmark, Row]]) -> str:
  """A Markdown table, its columns padded to line up in a terminal too."""
  header = ('step', 'genjax', 'peer', 'peer rate', 'genjax/peer', 'GFLOP/s', 'compile s',
            "convolutions' share of FLOPs", 'note')
  lines = [header]
  for bench, row in rows:
    peer = bench.peer.name + (f' ({row.peer_side})' if row.peer_side else '')
    ratio = 'n/a' if row.ratio is None else f'{row.ratio:.2f}x'
    compile_s = 'n/a' if row.compile_s is None else f'{row.compile_s:.1f}'
    lines.append((row.step, _number(row.genjax, row.unit), peer, _number(row.peer, row.unit),
                  ratio, _number(row.gflops), compile_s,
                  conv_verdict(row.conv_share, row.conv_share_taps), row.note))
  widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
  pad = lambda line: '| ' + ' | '.join(c.ljust(w) for c, w in zip(line, widths)) + ' |'
  rule = '|' + '|'.join('-' * (w + 2) for w in widths) + '|'
  return '\n'.join([pad(lines[0]), rule] + [pad(line) for line in lines[1:]])


# ----------------------------------------------------------------------------- main


def parse_args(argv=None):
  p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
  p.add_argument('--quick', action='store_true',
                 help="each benchmark's quick size: the whole run in minutes")
  p.add_argument('--only', default='', help='comma-separated benchmark names, e.g. '
                 + ','.join(b.name for b in BENCHMARKS[:2]))
  p.add_argument('--out', default='results/benchmarks/all.json',
                 help="the combined JSON; each benchmark's files go into the folder of "
                 'the same name without .json')
  p.add_argument('--timeout', type=float, default=0,
                 help=f'seconds per benchmark (0: {QUICK_TIMEOUT_S:.0f} with --quick, '
                 f'{FULL_TIMEOUT_S:.0f} without)')
  args = p.parse_args(argv)
  known = {b.name for b in BENCHMARKS}
  unknown = [n for n in args.only.split(',') if n and n not in known]
  if unknown:
    p.error(f"--only: no benchmark named {', '.join(unknown)}; "
            f"the names are {', '.join(sorted(known))}")
  return args


def main(argv=None):
  args = parse_args(argv)
  only = {n for n in args.only.split(',') if n}
  chosen = [b for b in BENCHMARKS if not only or b.name in only]
  timeout_s = args.timeout or (QUICK_TIMEOUT_S if args.quick else FULL_TIMEOUT_S)
  folder = os.path.splitext(os.path.abspath(args.out))[0]
  os.makedirs(folder, exist_ok=True)
  print(__doc__.split('\n\n')[0])
  machine = harness.print_machine_facts()
  print(f"{len(chosen)} benchmarks{' at quick sizes' if args.quick else ''}, each at most "
        f'{timeout_s:.0f} s; their JSON and output go to {folder}/', flush=True)

  start = time.perf_counter()
  rows, records = [], {}
  for i, bench in enumerate(chosen):
    print(f'[{i + 1}/{len(chosen)}] {bench.name} ...', flush=True)
    bench_rows, records[bench.name] = run_one(bench, folder, args.quick, timeout_s)
    record = records[bench.name]
    print(f"  {record['status']} in {record['seconds']:.0f} s"
          + (f": {record['why']}" if record['why'] else ''), flush=True)
    rows += [(bench, row) for row in bench_rows]
  wall_s = time.perf_counter() - start

  print()
  print(format_table(rows))
  took = ', '.join(f"{name} {r['seconds']:.0f}" for name, r in records.items())
  print(f'\nseconds per benchmark: {took}; all {wall_s:.0f} s')
  busy = [name for name, r in records.items() if r['busy']]
  if busy:
    print(f"{', '.join(busy)}: {harness.BUSY_WARNING}")
  harness.write_json(args.out, {
      'command': harness.command_line('benchmarks.all', argv), 'quick': args.quick,
      'wall_s': wall_s, 'benchmarks': records,
      'rows': [{'benchmark': bench.name, 'peer_library': bench.peer.name,
                **dataclasses.asdict(row), 'ratio': row.ratio} for bench, row in rows],
  }, machine)


if __name__ == '__main__':
  main()
