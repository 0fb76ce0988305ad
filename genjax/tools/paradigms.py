"""One table of the generation paradigms trained under equal conditions, from finished runs.

    python -m experiments.paradigms --config=configs/paradigms.py --out_dir=results/paradigms

Each row is one paradigm's finished run (configs/paradigms.py), read with `genjax.load`.
The rows must share one data set, and their parameters and training FLOPs must each lie
within `tolerance` of the rows' median; a row outside is refused in one line, before
anything is sampled. The parameters are those of the network the run trains (a second
stage's frozen first stage is not counted); the training FLOPs are the run's
`flops_per_step` (one device's, by the compiled step's cost analysis, which the loop
records once a run) times its devices times its train steps; the train time is the train
steps' own time (`genjax.training.progress.train_seconds`). What the table measures of
each model is `genjax.tools.paradigm_measures`; the figures are `genjax.figures.paradigms`.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import time
from typing import Any, Mapping

import numpy as np

from genjax.errors import UserError
from genjax.figures import paradigms as paradigm_figures
from genjax.tools import paradigm_cache
from genjax.tools import paradigm_measures as measures
from genjax.tools import runs
from genjax.tools.likelihood_table import RowError, count_params
from genjax.trained import TrainedModel
from genjax.training import restore
from genjax.training.progress import COMPUTE_SPLIT, read_metrics, train_seconds


class BudgetError(RowError):
  """A row's parameters or training FLOPs outside the tolerance of the rows' median."""


@dataclasses.dataclass(frozen=True)
class Options:
  """How much each measurement samples and scores (the flags of experiments/paradigms.py)."""
  tolerance: float = 0.1
  frechet_samples: int = 1000
  likelihood_examples: int = 500
  batch_size: int = 250
  throughput_batches: tuple[int, ...] = (16, 256)
  steps: tuple[int, ...] = (4, 8, 16, 32, 64, 128)
  figure_samples: int = 8
  seed: int = 0

  def __post_init__(self):
    if self.tolerance < 0:
      raise UserError(f'--tolerance={self.tolerance}: a fraction of the median, 0 or more '
                      '(0.1: within 10%).')
    for flag in ('frechet_samples', 'batch_size', 'figure_samples'):
      if getattr(self, flag) < 1:
        raise UserError(f'--{flag}={getattr(self, flag)}: give a positive number.')
    if self.likelihood_examples < 0:
      raise UserError(f'--likelihood_examples={self.likelihood_examples}: give 0 (all the '
                      'test images) or a positive number.')
    for flag in ('throughput_batches', 'steps'):
      if not getattr(self, flag) or min(getattr(self, flag)) < 1:
        raise UserError(f'--{flag}={",".join(map(str, getattr(self, flag)))}: give '
                        'positive integers, comma-separated.')


def integers(flag: str, values) -> tuple[int, ...]:
  """A comma-separated flag's values as integers, or one line naming the flag."""
  try:
    return tuple(int(v) for v in values)
  except ValueError:
    raise UserError(f'--{flag}={",".join(values)}: give integers, comma-separated '
                    '(e.g. 16,256).') from None


def read_row(spec: Mapping[str, Any], runs_dir: str) -> dict[str, Any]:
  """The row's budget, read from its run's files without building its model, of spec
  {'name', 'family', 'workdir', 'command', 'departures'}; refuses a missing, unfinished
  or other family's run, or one without its record of FLOPs."""
  name, family, command = spec['name'], spec['family'], spec['command']
  workdir = os.path.join(runs_dir, spec['workdir'])
  try:
    config = restore.read_run_config(workdir, family, command)
    data = measures.image_data_config(config).name  # a second stage's, of its first stage
  except UserError as e:
    raise RowError(f'{name}: {e}') from None
  if not os.path.exists(os.path.join(workdir, 'final_metrics.json')):
    raise RowError(f'{name}: {workdir} is unfinished (no final_metrics.json); finish it '
                   f'with {command}')
  rows = read_metrics(os.path.join(workdir, 'metrics.jsonl'))
  compute = [r for r in rows if r['split'] == COMPUTE_SPLIT]
  if not compute:
    raise RowError(f'{name}: {workdir} has no record of its training FLOPs (a run trained '
                   f'before the loop wrote its {COMPUTE_SPLIT!r} row); train it again with '
                   f'{command}')
  params = count_params(workdir, None)
  if params is None:
    raise RowError(f'{name}: {workdir} keeps no checkpoint to count its parameters and '
                   f'sample from; train it with {command}')
  steps = max((r['step'] for r in rows if r['split'] == 'train'), default=0)
  flops_per_step, devices = compute[0]['flops_per_step'], int(compute[0]['devices'])
  return {'name': name, 'family': family, 'workdir': workdir, 'command': command,
          'departures': spec['departures'], 'data': data, 'batch_size': config.batch_size,
          'train_steps': steps, 'params': params, 'flops_per_step': flops_per_step,
          'devices': devices, 'train_flops': flops_per_step * devices * steps,
          'train_minutes': train_seconds(rows) / 60}


def load_model(row: Mapping[str, Any]) -> TrainedModel:
  try:
    return runs.load(row['workdir'], row['family'], row['command'])
  except UserError as e:
    raise RowError(f"{row['name']}: {e}") from None


def _tolerance_needed(deviation: float) -> float:
  return math.ceil(deviation * 100) / 100


def check_budget(rows: list[dict[str, Any]], tolerance: float) -> None:
  """Refuses, in one line, rows of more than one data set, or a row whose parameters or
  training FLOPs differ from the rows' median by more than `tolerance` (a fraction)."""
  datasets = sorted({r['data'] for r in rows})
  if len(datasets) > 1:
    by_data = ', '.join(f"{r['name']}: {r['data']}" for r in rows)
    raise RowError(f'The rows train on {len(datasets)} data sets ({by_data}); one table is '
                   'one data set: train every run on the same one.')
  for key, what, remedy in (
      ('params', 'parameters', 'resize its network'),
      ('train_flops', 'training FLOPs', 'change its steps, batch or network')):
    median = float(np.median([r[key] for r in rows]))
    deviation = {r['name']: abs(r[key] / median - 1) for r in rows}
    worst = max(rows, key=lambda r: deviation[r['name']])
    off = deviation[worst['name']]
    if off > tolerance:
      raise BudgetError(
          f"{worst['name']}: {worst[key]:,.0f} {what}, {worst[key] / median - 1:+.0%} from "
          f"the rows' median {median:,.0f}, outside the tolerance of {tolerance:.0%}; "
          f"{remedy} ({worst['command']}) to come within {tolerance:.0%} of the median, or "
          f'pass --tolerance={_tolerance_needed(off):.2f} to tabulate unequal runs '
          'knowingly.')


def check_sample_count(frechet_samples: int, feature_dims: int, classifier: str) -> None:
  """Refuses, in one line and before anything is sampled, fewer samples than the
  classifier has features: their covariance would be singular and the distance would
  mostly measure the sample count."""
  if frechet_samples < feature_dims:
    raise UserError(f'--frechet_samples={frechet_samples}: the classifier at {classifier} has '
                    f'{feature_dims} features, and the Fréchet distance needs at least as '
                    f'many samples; pass --frechet_samples={feature_dims} or more (1000: '
                    'the table\'s default).')


_MEASURED = ('frechet_samples', 'fd', 'fd_floor', 'evaluations', 'likelihood',
             'images_per_sec', 'fd_vs_steps')


def build(config, options: Options, log=print,
          cache_dir: str | None = None) -> tuple[list[dict[str, Any]], dict]:
  """(rows, samples by row name) of configs/paradigms.py's `config`: every row read and
  its budget checked first, then each model measured. With `cache_dir`, each row's
  measurements are kept there as they finish and reused while its run and the options
  are unchanged (`genjax.tools.paradigm_cache`)."""
  rows = [read_row(spec, config.runs_dir) for spec in config.rows]
  check_budget(rows, options.tolerance)
  log(f"{len(rows)} rows on {rows[0]['data']} within {options.tolerance:.0%} of the median "
      'parameters and training FLOPs')
  read = [(row, load_model(row)) for row in rows]
  data_config = measures.image_data_config(read[0][1].config)
  scorer = measures.frechet_scorer(config.classifier, data_config)
  check_sample_count(options.frechet_samples, scorer.reference[0].shape[-1],
                     config.classifier)
  floor = measures.floor(scorer, data_config, options.frechet_samples, options.seed)
  log(f'floor: Fréchet distance of {options.frechet_samples} train images = {floor:.3f}')
  measuring = {f.name: getattr(options, f.name) for f in dataclasses.fields(options)
               if f.name != 'tolerance'}
  samples = {}
  for row, model in read:
    name = row['name']
    row_key = paradigm_cache.key(row, config.classifier, measuring)
    kept = paradigm_cache.read(cache_dir, name, row_key) if cache_dir else None
    if kept is not None:
      measured, samples[name] = kept
      measured['images_per_sec'] = {int(b): v for b, v in
                                    measured['images_per_sec'].items()}
      row.update(measured)
      log(f"{name}: measured by an earlier run of the table with these runs and options "
          f"({paradigm_cache.path(cache_dir, name)}); kept")
      continue
    samples[name] = _measure(row, model, scorer, floor, options, log)
    if cache_dir:
      paradigm_cache.write(cache_dir, name, row_key, {k: row[k] for k in _MEASURED},
                           samples[name])
  return rows, samples


def _measure(row: dict[str, Any], model: TrainedModel, scorer, floor: float,
             options: Options, log) -> np.ndarray:
  """Fills in the row's measurements, with a progress line at each; the figure's samples."""
  name, start = row['name'], time.perf_counter()
  say = lambda what: log(f'{name}: {what} ({time.perf_counter() - start:.0f} s)')
  say(f'drawing {options.frechet_samples:,} samples')
  images = measures.draw(model, options.frechet_samples, options.batch_size, options.seed)
  row.update(frechet_samples=options.frechet_samples, fd=float(scorer(images)),
             fd_floor=floor, evaluations=measures.network_evaluations(model, {}))
  say(f"Fréchet distance {row['fd']:.3f}; scoring the likelihood")
  row['likelihood'] = measures.likelihood(model, options.likelihood_examples,
                                          options.batch_size)
  say('timing images/s')
  row['images_per_sec'] = measures.images_per_second(
      model, list(options.throughput_batches), options.seed)
  say('Fréchet distance against steps')
  row['fd_vs_steps'] = measures.fd_against_steps(
      model, scorer, list(options.steps), options.frechet_samples, options.batch_size,
      options.seed, fixed_fd=row['fd'], log=say)
  say(f"done: Fréchet distance {row['fd']:.3f}, {row['evaluations']} network evaluations "
      'a sample')
  return images[:options.figure_samples]


def _number(value, digits: int = 3) -> str:
  return 'n/a' if value is None else f'{value:.{digits}f}'


def markdown(rows: list[dict[str, Any]], tolerance: float) -> str:
  batches = sorted({b for r in rows for b in r['images_per_sec']})
  n = rows[0]['frechet_samples']
  lines = [
      f"One data set ({rows[0]['data']}), parameters and training FLOPs within "
      f'{tolerance:.0%} of their median. Likelihood: test bits/dim, exact, exact through the '
      'probability-flow ODE, or an upper bound (bound); FD: the Fréchet distance of '
      f'{n:,} samples to the test images in a classifier\'s features, beside its floor '
      f'({n:,} train images); evaluations: network evaluations a sample.', '',
      '| paradigm | parameters | training FLOPs | train time (min) | likelihood (bits/dim) '
      f'| kind | FD ({n:,}) | FD floor | evaluations | '
      + ' | '.join(f'images/s at {b}' for b in batches) + ' | departures from the paper |',
      '|---' * (9 + len(batches) + 1) + '|']
  for r in rows:
    like = r['likelihood']
    value = _number(like['bits_per_dim'])
    if like['se'] is not None:
      value += f" ± {like['se']:.3f}"
    rates = ' | '.join(_number(r['images_per_sec'].get(b), 1) for b in batches)
    evaluations = 'varies' if r['evaluations'] is None else f"{r['evaluations']:,}"
    lines.append(f"| {r['name']} | {r['params']:,} | {r['train_flops']:.3g} | "
                 f"{r['train_minutes']:.1f} | {value} | {like['kind']} | {r['fd']:.2f} | "
                 f"{r['fd_floor']:.2f} | {evaluations} | {rates} | {r['departures']} |")
  return '\n'.join(lines) + '\n'


def write(out_dir: str, rows: list[dict[str, Any]], samples: Mapping[str, np.ndarray],
          tolerance: float) -> list[str]:
  """table.md, table.json, samples.png and fd_vs_steps.png in out_dir; their paths."""
  os.makedirs(out_dir, exist_ok=True)
  md, js = os.path.join(out_dir, 'table.md'), os.path.join(out_dir, 'table.json')
  with open(md, 'w') as f:
    f.write(markdown(rows, tolerance))
  with open(js, 'w') as f:
    rows_json = [{**r, 'images_per_sec': {str(b): v for b, v in r['images_per_sec'].items()}}
                 for r in rows]
    json.dump({'tolerance': tolerance, 'rows': rows_json}, f, indent=2)
  names = [r['name'] for r in rows]
  return [md, js,
          paradigm_figures.plot_samples(names, [samples[n] for n in names],
                                        os.path.join(out_dir, 'samples.png')),
          paradigm_figures.plot_fd_vs_steps(
              {r['name']: r['fd_vs_steps'] for r in rows}, rows[0]['fd_floor'],
              rows[0]['frechet_samples'], os.path.join(out_dir, 'fd_vs_steps.png'))]
