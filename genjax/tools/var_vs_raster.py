"""VAR against the raster prior over the same tokens: one table from the two finished runs
(and, when given, the sampling benchmark's JSON).

Each row: the sequential steps a sample takes, the prior's parameters, its training time
(the train steps' own time, from metrics.jsonl: compiling, evaluation and figures
excluded), the test NLL of the tokens (bits per token) and the bound in bits/dim, and the
Fréchet distance of its 1,000 samples beside the floor, and images/s from the benchmark.
A second table gives the tokenizer's code use at each scale on the test set (the coarse
scales are where a shared codebook can collapse). The runs themselves (parameters, steps,
the tokenizer a prior read) are read with `genjax.load`; their numbers from their metrics.
"""

from __future__ import annotations

import json
import os

import jax
import numpy as np

from genjax import commands
from genjax.data.codes import run_codes_path
from genjax.errors import UserError
from genjax.models import multiscale_quantizer as multiscale
from genjax.models import quantizer
from genjax.tools import runs
from genjax.training import restore
from genjax.training.progress import read_metrics, train_seconds


def run_row(workdir: str, family: str, command: str) -> dict:
  model = runs.load(workdir, family, command)
  final_path = os.path.join(model.path, 'final_metrics.json')
  if not os.path.exists(final_path):
    raise UserError(f'{workdir} is unfinished (no final_metrics.json); finish it with '
                    f'{command}')
  with open(final_path) as f:
    final = json.load(f)
  if 'frechet_distance' not in final:
    raise UserError(f'{workdir} has no Fréchet distance; train it with '
                    '--config.eval.classifier=runs/classifier.')
  rows = read_metrics(os.path.join(workdir, 'metrics.jsonl'))
  test = [r for r in rows if r['split'] == 'test'][-1]
  # `genjax.load` points the config at the tokenizer the run read (its record's workdir).
  tokenizer = model.config.data.stage1_workdir
  if family == 'var':  # one step a scale of the tokenizer's
    steps = len(restore.read_run_config(tokenizer, 'vqvae', commands.VAR_TOKENIZER
                                        ).model.scales)
  else:  # one step a token of the code grid
    steps = int(np.prod(model.info.example_shape))
  row = {'workdir': model.path, 'step': model.step, 'sequential_steps': steps,
         'num_codes': model.info.vocab_size,
         'params': int(sum(np.size(x) for x in jax.tree.leaves(model.params))),
         'train_seconds': train_seconds(rows),
         'bits_per_token': test['prior_bits_per_code'],
         'bound_bits_per_dim': test['bound_bits_per_dim'],
         'frechet_distance': final['frechet_distance'], 'frechet_floor': final['frechet_floor'],
         'upstream': tokenizer}
  if 'frechet_best' in final:
    row['frechet_best_guided'] = final['frechet_best']
  return row


def scale_usage(tokenizer_workdir: str) -> list[dict]:
  """Per scale of the tokenizer: its side, the test tokens at it, the distinct codes they
  use and their perplexity (from the test codes stored beside the run)."""
  model = runs.load(tokenizer_workdir, 'vqvae', commands.VAR_TOKENIZER)
  scales, num_codes = tuple(model.config.model.scales), model.config.model.num_codes
  path = run_codes_path(model.path, model.step, 'test')
  if not os.path.exists(path):
    raise UserError(f'No test tokens at {path}; train a prior on this tokenizer first.')
  with np.load(path) as f:
    tokens = f['codes'][:, 0]
  out = []
  for p, s in zip(scales, multiscale.scale_slices(scales)):
    counts = np.bincount(tokens[:, s].reshape(-1), minlength=num_codes)
    out.append({'side': p, 'tokens': int(counts.sum()), 'codes_used': int((counts > 0).sum()),
                'perplexity': float(quantizer.perplexity(counts.astype(np.float64)))})
  return out


def head_to_head(var_workdir: str, raster_workdir: str, benchmark: str = '') -> dict:
  rows = {'VAR': run_row(var_workdir, 'var', commands.VAR),
          'raster Transformer': run_row(raster_workdir, 'code_prior', commands.RASTER_PRIOR)}
  if rows['VAR']['upstream'] != rows['raster Transformer']['upstream']:
    raise UserError(f"The two priors read different tokenizers ({rows['VAR']['upstream']} "
                    f"and {rows['raster Transformer']['upstream']}); train both on one.")
  if benchmark:
    with open(benchmark) as f:
      bench = json.load(f)['images_per_second_median']
    for name, row in rows.items():
      key = 'VAR, w = 1' if name == 'VAR' else name
      row['images_per_second'] = {k.split(' @ ')[1]: v for k, v in bench.items()
                                  if k.split(' @ ')[0] == key}
  return rows


def markdown(rows: dict) -> str:
  batches = sorted({b for r in rows.values() for b in r.get('images_per_second', {})}, key=int)
  head = ['prior', 'sequential steps', 'params', 'train steps (min)', 'bits per token',
          'bound (bits/dim)', 'Fréchet distance (1,000)', 'floor']
  head += [f'images/s @ {b}' for b in batches]
  lines = ['| ' + ' | '.join(head) + ' |', '|' + '---|' * len(head)]
  for name, r in rows.items():
    cells = [name, str(r['sequential_steps']), f"{r['params']:,}",
             f"{r['train_seconds'] / 60:.1f}", f"{r['bits_per_token']:.3f}",
             f"{r['bound_bits_per_dim']:.4f}", f"{r['frechet_distance']:.1f}",
             f"{r['frechet_floor']:.2f}"]
    cells += [f"{r['images_per_second'][b]:,.0f}" for b in batches]
    lines.append('| ' + ' | '.join(cells) + ' |')
  return '\n'.join(lines) + '\n'


def usage_markdown(usage: list[dict], num_codes: int) -> str:
  lines = ['| scale | test tokens | codes used (of %d) | perplexity |' % num_codes,
           '|---|---|---|---|']
  for u in usage:
    lines.append(f"| {u['side']}x{u['side']} | {u['tokens']:,} | {u['codes_used']} | "
                 f"{u['perplexity']:.1f} |")
  return '\n'.join(lines) + '\n'


