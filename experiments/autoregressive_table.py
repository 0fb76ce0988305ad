"""docs/results/autoregressive.md's table of autoregressive models, from their finished runs.

    python -m experiments.autoregressive_table --out_dir=results/autoregressive \
        --runs=PixelCNN=runs/ar/pixelcnn,'Gated PixelCNN'=runs/ar/gated,... \
        --sampling=results/benchmarks/autoregressive_sampling.json

Per run: exact test NLL (nats per image, bits/dim) from its final evaluation, parameters,
training time and examples/s from its progress records, and, given the sampling
benchmark's JSON, the fast sampler's time per image. Writes table.md and summary.json and
copies each run's figures next to them as <run>_<figure>.png.
"""

import json
import os
import shutil

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
from absl import app, flags

from genjax.models.autoregressive import make_model
from genjax.training.progress import read_metrics

_RUNS = flags.DEFINE_list('runs', [], 'name=workdir pairs, in table order.')
_SAMPLING = flags.DEFINE_string('sampling', '', "benchmarks.autoregressive_sampling's --out JSON.")
_OUT_DIR = flags.DEFINE_string('out_dir', 'results/autoregressive', 'Where to write.')


def count_params(config: dict, image_shape: tuple[int, ...], num_classes: int) -> int:
  model = make_model(ml_collections.ConfigDict(config['model']), image_shape, num_classes)
  y = jnp.zeros((1,), jnp.int32) if config['model']['conditional'] else None
  shapes = jax.eval_shape(model.init, jax.random.PRNGKey(0), jnp.zeros((1,) + image_shape), y)
  return int(sum(np.prod(p.shape) for p in jax.tree.leaves(shapes)))


def summarize_run(workdir: str) -> dict:
  """The table row of one finished run, from config.json, metrics.jsonl and its artifacts."""
  with open(os.path.join(workdir, 'config.json')) as f:
    config = json.load(f)
  rows = read_metrics(os.path.join(workdir, 'metrics.jsonl'))
  train = [r for r in rows if r['split'] == 'train']
  tests = [r for r in rows if r['split'] == 'test']
  if not train or not tests:
    raise ValueError(f'{workdir} has no finished training and test evaluation; run it first.')
  steps = np.diff([0] + [r['step'] for r in train])
  seconds = steps / np.array([r['steps_per_sec'] for r in train])
  artifacts = sorted(os.listdir(os.path.join(workdir, 'artifacts')))
  last = np.load(os.path.join(workdir, 'artifacts', artifacts[-1]))
  images = last['class_grid'] if 'class_grid' in last else last['samples']
  num_classes = 10 if config['model']['conditional'] else 0
  return {
      'architecture': config['model']['architecture'],
      'conditional': config['model']['conditional'],
      'test_nll_nats': tests[-1]['nll'],
      'test_bits_per_dim': tests[-1]['bits_per_dim'],
      'params': count_params(config, tuple(images.shape[1:]), num_classes),
      'train_steps': int(train[-1]['step']),
      'batch_size': config['batch_size'],
      'train_minutes': float(seconds.sum() / 60),  # the first interval includes compiling
      'examples_per_sec': float(np.median([r['examples_per_sec'] for r in train[1:]] or
                                          [train[0]['examples_per_sec']])),
  }


def markdown(summary: dict[str, dict]) -> str:
  lines = ['| model | test NLL (nats) | bits/dim | params | steps x batch | train time (min) '
           '| train ex/s | sampling ms/image (fast) |', '|---|---|---|---|---|---|---|---|']
  for name, s in summary.items():
    sampling = f"{s['sampling_ms_per_image']:.0f}" if 'sampling_ms_per_image' in s else 'n/a'
    lines.append(f"| {name} | {s['test_nll_nats']:.2f} | {s['test_bits_per_dim']:.4f} | "
                 f"{s['params']:,} | {s['train_steps']} x {s['batch_size']} | "
                 f"{s['train_minutes']:.1f} | {s['examples_per_sec']:.0f} | {sampling} |")
  return '\n'.join(lines) + '\n'


def main(argv):
  del argv
  os.makedirs(_OUT_DIR.value, exist_ok=True)
  sampling = {}
  if _SAMPLING.value:
    with open(_SAMPLING.value) as f:
      sampling = {r['model']: r for r in json.load(f)['models']}
  summary = {}
  for pair in _RUNS.value:
    name, workdir = pair.split('=', 1)
    row = summarize_run(workdir)
    if row['architecture'] in sampling and not row['conditional']:
      row['sampling_ms_per_image'] = sampling[row['architecture']]['fast_ms_per_image']
    summary[name] = row
    slug = name.lower().replace(' ', '_')
    for png in sorted(os.listdir(os.path.join(workdir, 'figures'))):
      shutil.copy(os.path.join(workdir, 'figures', png),
                  os.path.join(_OUT_DIR.value, f'{slug}_{png}'))
  with open(os.path.join(_OUT_DIR.value, 'summary.json'), 'w') as f:
    json.dump(summary, f, indent=2)
  table = markdown(summary)
  with open(os.path.join(_OUT_DIR.value, 'table.md'), 'w') as f:
    f.write(table)
  print(table)


if __name__ == '__main__':
  app.run(main)
