"""One likelihood table across families, from their finished runs.

Two tables, each on one test set in one unit:
- 8-bit images in bits/dim (the densities' convention, `genjax.objectives.glow`): a discrete
  model's -log2 P(x) / D, or for a density of y = (x + u) / 256 its (-log p(y) + D ln 256)
  / (D ln 2), an upper bound on the discrete one in expectation over u (Theis et al.,
  2016);
- binarised images (the fixed evaluation binarisation every family's test split uses) in
  nats per image, -log P(x) or a bound on it.

Each row's number comes from its run's metrics. The row says whether it is exact or a
bound (as the likelihood of the trained model `genjax.load` reads says, where the run's
checkpoints are here), and carries the command that trains its run, its parameter count
(from that model) and its train time (the train steps' own time from metrics.jsonl:
compiling, evaluation and figures excluded). A row whose run is not on this machine is
read from its committed record (config.json, metrics.jsonl and final metrics, without
checkpoints: no parameter count, and its family's kind of likelihood as this module states
it) or from the summary an earlier table wrote, and says so.
"""

from __future__ import annotations

import json
import logging
import os
from typing import Any, Mapping

import jax
import numpy as np

from genjax.commands import canonical_family
from genjax.errors import UserError
from genjax.trained import TrainedModel, load
from genjax.training import restore
from genjax.training.progress import read_metrics, train_seconds

logger = logging.getLogger(__name__)

EIGHT_BIT = 'bits/dim on 8-bit test images'
BINARIZED = 'nats per binarised test image'


class RowError(ValueError, UserError):
  """A row's run is missing, unfinished, or of a kind the table cannot read."""


def _test_rows(rows: list[dict]) -> list[dict]:
  return [r for r in rows if r['split'] == 'test']


def _bits_of(family: str, config: Mapping[str, Any], test: dict, final: dict,
             workdir: str) -> tuple[float, float | None, bool, str, int | None]:
  """(bits/dim, its standard error or None, whether the family's likelihood is exact, what
  the number is, the test images it averages when not the run's evaluation set) of an
  8-bit run."""
  if family == 'glow':
    return test['bits_per_dim'], test['bits_per_dim_se'], True, 'density of y', None
  if family == 'gmm':
    if 'bits_per_dim' not in test:
      features = 'PCA features' if config['data']['pca_dims'] else 'undequantised pixels'
      raise RowError(f'{workdir} is a mixture on {features}; train one with '
                     '--config=configs/gmm.py:pixels8.')
    return test['bits_per_dim'], test['bits_per_dim_se'], True, 'density of y', None
  if family == 'autoregressive':
    likelihood = config['model']['likelihood']
    if likelihood == 'logistic_mixture':
      return test['bits_per_dim'], None, True, '(discretised logistic mixture)', None
    if likelihood != 'categorical':
      raise RowError(f'{workdir} models binarised pixels; its row belongs in the binarised '
                     'table (or train a 256-way one: configs/autoregressive.py:gray8).')
    return test['bits_per_dim'], None, True, '(256-way softmax)', None
  if family == 'code_prior':
    return test['bound_bits_per_dim'], None, False, '(VQ-VAE, learned prior)', None
  if family == 'diffusion':
    bounds = sorted(f for f in os.listdir(workdir) if f.startswith('bound_') and
                    f.endswith('.json') and 'first' not in f)
    if not bounds:
      raise RowError(f'{workdir} has no bound_<T>.json; write one with '
                     f'python -m experiments.diffusion_bound --workdir={workdir}.')
    with open(os.path.join(workdir, bounds[0])) as f:
      bound = json.load(f)
    return (bound['bpd'], bound['bpd_standard_error'], False,
            f"({bound['timesteps']} of T = {bound['T']} terms)", bound['num_examples'])
  raise RowError(f'{workdir} holds a {family!r} run, which reports no bits/dim of 8-bit '
                 'images; use a glow, gmm (pixels8), autoregressive (gray8), code_prior or '
                 'diffusion run.')


def _ode_bits(spec: Mapping[str, Any], family: str, workdir: str,
              table: str) -> tuple[float, float, bool, str, int]:
  """The row of a diffusion or flow-matching run's probability-flow likelihood: the JSON
  `python -m experiments.ode_likelihood --workdir=<run> --out=<workdir>/<spec['ode']>` wrote
  (bits/dim of the dequantised images, as the densities' rows)."""
  if table != EIGHT_BIT:
    raise RowError(f"{spec['name']}: a probability-flow likelihood is in bits/dim of 8-bit "
                   'images; its row belongs in the 8-bit table.')
  path = os.path.join(workdir, spec['ode'])
  if not os.path.exists(path):
    raise RowError(f"{spec['name']}: no {path}; write it with python -m "
                   f'experiments.ode_likelihood --workdir=<the run> --out={path}')
  with open(path) as f:
    ode = json.load(f)
  if canonical_family(ode['family']) != family:
    raise RowError(f"{spec['name']}: {path} scores a {ode['family']!r} run, not the "
                   f'{family} run of {workdir}.')
  what = (f"density of y through the probability-flow ODE ({ode['divergence']}, "
          f"{ode['nfe_mean']:.0f} evaluations)")
  return ode['bpd'], ode['bpd_standard_error'], True, what, ode['examples']


def _nats_of(family: str, config: Mapping[str, Any], test: dict, final: dict,
             workdir: str) -> tuple[float, None, bool, str, None]:
  """(nats per image, None, exact, what it is, None) of a binarised run: minus its test
  log-likelihood."""
  if config['data']['binarize'] == 'none':
    raise RowError(f'{workdir} models 8-bit pixels; its row belongs in the 8-bit table.')
  if family == 'vae':
    k = config['eval']['final_iwae_k']
    if f'iwae_{k}' not in final:
      raise RowError(f'{workdir} has no final IWAE estimate; train it to the end with '
                     '--config.eval.final_iwae_k=5000.')
    return -final[f'iwae_{k}'], None, False, f'(IWAE, k = {k})', None
  if family == 'autoregressive':
    return test['nll'], None, True, '', None
  raise RowError(f'{workdir} holds a {family!r} run, which reports no likelihood of '
                 'binarised images; use a vae or autoregressive run.')


def _dataset(config: Mapping[str, Any]) -> str:
  """The run's dataset; a code prior's is its stage 1's ('' when that run is not here)."""
  stage1 = config['data'].get('stage1_workdir')
  if stage1:
    path = os.path.join(stage1, 'config.json')
    if not os.path.exists(path):
      return ''
    with open(path) as f:
      return json.load(f)['data']['name']
  return config['data'].get('name', '')


def trained_model(workdir: str) -> TrainedModel | None:
  """The run's latest checkpoint as a model; None when it keeps none on this machine (a
  committed record), or when the model cannot be rebuilt here (a second stage whose first
  stage, or an old run whose data, is elsewhere)."""
  if not os.path.isdir(os.path.join(workdir, 'checkpoints')):
    return None
  try:
    return load(workdir, allow_unfinished=True)
  except UserError as e:
    logger.warning('%s cannot be rebuilt on this machine (%s); its row is read from its '
                   'metrics and its checkpoint.', workdir, e)
    return None


def count_params(workdir: str, model: TrainedModel | None) -> int | None:
  """Parameters of the trained model; None when the run keeps no checkpoint here."""
  if model is not None:
    params = model.params
  elif os.path.isdir(os.path.join(workdir, 'checkpoints')):
    params = restore.load_run(workdir).params  # its weights read without its model
  else:
    return None
  return int(sum(np.size(x) for x in jax.tree.leaves(params)))


def run_row(spec: Mapping[str, Any], table: str) -> dict[str, Any]:
  """The row of one run: spec {'name', 'command', and 'workdir', 'record' or 'summary' +
  'key'} (configs/likelihood_table.py)."""
  if spec.get('summary'):
    return _summary_row(spec, table)
  workdir = spec.get('workdir') or spec['record']
  try:
    config = restore.read_run_config(workdir, '', spec['command']).to_dict()
  except restore.RunNotFoundError as e:
    raise RowError(f"{spec['name']}: {e}") from None
  rows = read_metrics(os.path.join(workdir, 'metrics.jsonl'))
  tests = _test_rows(rows)
  final_path = os.path.join(workdir, 'final_metrics.json')
  if not tests or not os.path.exists(final_path):
    raise RowError(f"{spec['name']}: {workdir} is unfinished (no test evaluation or no "
                   f"final_metrics.json); finish it with {spec['command']}")
  with open(final_path) as f:
    final = json.load(f)
  read = _bits_of if table == EIGHT_BIT else _nats_of
  family = canonical_family(config['family'])  # runs saved under a family's old name
  if spec.get('ode'):
    value, se, exact, what, images = _ode_bits(spec, family, workdir, table)
  else:
    value, se, exact, what, images = read(family, config, tests[-1], final, workdir)
  model = trained_model(workdir)
  if model is not None and model.inference.likelihood is not None and not spec.get('ode'):
    exact = model.inference.likelihood.exact  # the family's own word; a record has ours
  kind = ('exact' if exact else 'bound') + (f' {what}' if what else '')
  return {'test_images': images or config.get('eval', {}).get('test_examples', 0) or 'all',
          'name': spec['name'], 'family': family, 'value': float(value),
          'se': None if se is None else float(se), 'kind': kind,
          'data': _dataset(config), 'params': count_params(workdir, model),
          'train_steps': max([r['step'] for r in rows if r['split'] == 'train'], default=0),
          'batch_size': config['batch_size'],
          'train_minutes': train_seconds(rows) / 60, 'command': spec['command'],
          'source': workdir if 'workdir' in spec else
                    f'{workdir} (a committed record; its run is not on this machine)'}


def _summary_row(spec: Mapping[str, Any], table: str) -> dict[str, Any]:
  """A row from an earlier table's summary JSON (results/autoregressive/summary.json)."""
  if not os.path.exists(spec['summary']):
    raise RowError(f"{spec['name']}: no {spec['summary']}; run the command that writes it, "
                   f"or train the run with {spec['command']} and name its workdir instead.")
  with open(spec['summary']) as f:
    summary = json.load(f)
  if spec['key'] not in summary:
    raise RowError(f"{spec['name']}: {spec['summary']} has no row {spec['key']!r}; it has "
                   f"{sorted(summary)}.")
  s = summary[spec['key']]
  value = s['test_bits_per_dim'] if table == EIGHT_BIT else s['test_nll_nats']
  return {'test_images': 'all', 'name': spec['name'], 'family': 'autoregressive',
          'value': float(value), 'se': None,
          'kind': 'exact', 'data': spec.get('data', 'fashion_mnist'), 'params': s['params'],
          'train_steps': s['train_steps'], 'batch_size': s['batch_size'],
          'train_minutes': s['train_minutes'], 'command': spec['command'],
          'source': f"{spec['summary']} ({spec['key']}; its run is not on this machine)"}


def build_table(specs: list[Mapping[str, Any]], table: str) -> list[dict[str, Any]]:
  rows = [run_row(spec, table) for spec in specs]
  datasets = {r['data'] for r in rows} - {''}
  if len(datasets) > 1:
    raise RowError(f'The {table} table mixes datasets {sorted(datasets)}; one table is one '
                   'test set.')
  return rows


def _specs(rows, runs_dir: str) -> list[dict[str, Any]]:
  specs = []
  for row in rows:
    spec = dict(row)
    if 'workdir' in spec:
      spec['workdir'] = os.path.join(runs_dir, spec['workdir'])
    specs.append(spec)
  return specs


def tables(config) -> dict[str, list[dict[str, Any]]]:
  """Both tables of configs/likelihood_table.py's `config`: {unit: rows}."""
  return {EIGHT_BIT: build_table(_specs(config.eight_bit, config.runs_dir), EIGHT_BIT),
          BINARIZED: build_table(_specs(config.binarized, config.runs_dir), BINARIZED)}


CONVENTIONS = {
    EIGHT_BIT: 'Test bits/dim of the 8-bit images (D = 784). Densities (Glow, mixture) are of '
               'y = (k + u) / 256 with one uniform u per image, dequantised: (-log p(y) + D '
               'ln 256) / (D ln 2), which bounds the discrete -log2 P(k) / D in expectation '
               'over u. The others are discrete models of k itself: exact (a 256-way softmax) '
               'or a variational bound (DDPM: its discretised decoder; VQ-VAE: its discretised '
               'decoder and the prior over codes). Every number is exact for its model or an '
               'upper bound on -log2 P(k) / D, so lower is better and the column compares.',
    BINARIZED: 'Test nats per image of the binarised images (each pixel once ~ '
               'Bernoulli(k / 255) with the fixed evaluation seed, the same set for every '
               'row): -log P(x), exact for the autoregressive models, an upper bound by the '
               'importance-weighted bound for the VAEs.',
}


def markdown(rows: list[dict[str, Any]], table: str) -> str:
  unit = 'bits/dim' if table == EIGHT_BIT else 'nats'
  lines = [CONVENTIONS[table], '', f'| model | test {unit} | exact or bound | test images | '
           'params | steps x batch | train time (min) | command |',
           '|---|---|---|---|---|---|---|---|']
  for r in rows:
    digits = 3 if table == EIGHT_BIT else 2
    value = f"{r['value']:.{digits}f}"
    if r['se'] is not None:
      value += f" ± {r['se']:.{digits}f}"
    params = 'n/a' if r['params'] is None else f"{r['params']:,}"
    images = r['test_images'] if r['test_images'] == 'all' else f"first {r['test_images']:,}"
    lines.append(f"| {r['name']} | {value} | {r['kind']} | {images} | {params} | "
                 f"{r['train_steps']:,} x {r['batch_size']} | {r['train_minutes']:.1f} | "
                 f"`{r['command']}` |")
  return '\n'.join(lines) + '\n'


def write(out_dir: str, tables: Mapping[str, list[dict[str, Any]]]) -> list[str]:
  os.makedirs(out_dir, exist_ok=True)
  paths = []
  for table, rows in tables.items():
    stem = 'eight_bit' if table == EIGHT_BIT else 'binarized'
    md = os.path.join(out_dir, f'{stem}.md')
    with open(md, 'w') as f:
      f.write(markdown(rows, table))
    with open(os.path.join(out_dir, f'{stem}.json'), 'w') as f:
      json.dump({'unit': table, 'rows': rows}, f, indent=2)
    paths.append(md)
  return paths
