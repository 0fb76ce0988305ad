"""The Fréchet Inception Distance and Inception Score of a trained model's samples, and the
reference statistics of a dataset split, by the papers' protocol
(`genjax.evals.inception_features`).

    python -m experiments.fid_stats --dataset=cifar10 --split=train --out=cifar10_train.npz
    python -m experiments.fid --workdir=runs/ddpm --reference=cifar10_train.npz

Any family that draws images is scored the same way: its samples come from `genjax.load`'s
`sample`, `num_samples` of them (50,000 by default, as the papers) in batches, and the
score is printed with the sample count and the reference statistics' source beside it.
"""

from __future__ import annotations

import json
import os
import time

import jax
import numpy as np

from genjax.data.sources import load_image_dataset
from genjax.errors import UserError
from genjax.evals import fid_statistics
from genjax.evals.inception_features import (RECOMMENDED_SAMPLES, InceptionFeatures,
                                             check_sample_count)
from genjax.metrics.frechet import frechet_distance
from genjax.metrics.inception_score import inception_score
from genjax.models import inception_weights
from genjax.trained import load

INCEPTION_SCORE_SPLITS = 10


def _progress(log, what: str, total: int):
  start = time.monotonic()

  def report(done: int) -> None:
    seconds = time.monotonic() - start
    log(f'{what}: {done:,}/{total:,} images, {done / max(seconds, 1e-9):.1f} images/s')
  return report


def dataset_statistics(dataset: str, split: str, out: str, *, weights: str = '',
                       resize: str = 'bilinear', batch_size: int = 200, max_examples: int = 0,
                       tfds_data_dir: str = '', idx_dir: str = '', log=print):
  """Writes the FID reference statistics of a dataset split to `out`; returns them."""
  source = load_image_dataset(dataset, split, tfds_data_dir=tfds_data_dir, idx_dir=idx_dir)
  n = min(len(source), max_examples) if max_examples else len(source)
  check_sample_count(n, '--max_examples (or the split\'s size)')
  features = InceptionFeatures(weights or inception_weights.DEFAULT_PATH, resize=resize,
                               batch_size=batch_size)
  batches = (source.read(np.arange(s, min(s + batch_size, n)))[0].astype(np.float32) / 255
             for s in range(0, n, batch_size))
  stats, _ = features.statistics(batches, f'{dataset} {split}', _progress(log, split, n))
  stats.save(out)
  log(f'wrote the statistics of {n:,} {dataset} {split} images ({resize} resize) to {out}')
  return stats


def score_run(workdir: str, reference: str, *, num_samples: int = RECOMMENDED_SAMPLES,
              weights: str = '', resize: str = 'bilinear', batch_size: int = 200,
              seed: int = 0, allow_unfinished: bool = False, out: str = '',
              log=print) -> dict:
  """FID against `reference` and the Inception Score of `num_samples` samples of the run
  in `workdir` (or an export); writes JSON to `out` (default <workdir>/fid.json)."""
  check_sample_count(num_samples, '--num_samples')
  features = InceptionFeatures(weights or inception_weights.DEFAULT_PATH, resize=resize,
                               batch_size=batch_size)
  reference_stats = fid_statistics.load(reference, resize=resize)
  model = load(workdir, allow_unfinished=allow_unfinished)
  if model.inference.sample is None:
    raise UserError(f'A {model.family} model draws no samples to score; point --workdir at '
                    'a run of a family that draws images.')
  key = jax.random.PRNGKey(seed)

  def batches():
    for i, start in enumerate(range(0, num_samples, batch_size)):
      images = model.sample(jax.random.fold_in(key, i), min(batch_size, num_samples - start))
      if images.dtype.kind != 'f' or images.ndim != 4:
        raise UserError(f'A {model.family} model draws {images.dtype} samples of shape '
                        f'{images.shape[1:]}, not images; FID scores images.')
      yield images

  log(f'{workdir}: {model.family} run at step {model.step}; scoring {num_samples:,} samples '
      f'against {reference_stats.describe()}')
  stats, logits = features.statistics(batches(), f'{num_samples} samples of {workdir}',
                                      _progress(log, 'samples', num_samples))
  fid = frechet_distance(stats.mu, stats.sigma, reference_stats.mu, reference_stats.sigma)
  is_mean, is_std = inception_score(logits, INCEPTION_SCORE_SPLITS)
  result = {'workdir': os.path.abspath(workdir), 'family': model.family, 'step': model.step,
            'fid': fid, 'inception_score': is_mean, 'inception_score_std': is_std,
            'inception_score_splits': INCEPTION_SCORE_SPLITS, 'num_samples': num_samples,
            'reference': reference_stats.describe(), 'resize': resize, 'seed': seed,
            'extractor': fid_statistics.EXTRACTOR}
  out = out or os.path.join(workdir, 'fid.json')
  with open(out, 'w') as f:
    json.dump(result, f, indent=2)
  log(f'FID {fid:.3f} against {reference_stats.describe()}, from {num_samples:,} samples '
      f'({resize} resize); Inception Score {is_mean:.3f} ± {is_std:.3f} over '
      f'{INCEPTION_SCORE_SPLITS} splits; wrote {out}')
  return result
