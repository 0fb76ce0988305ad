"""p(x|y) as a classifier: class-conditional GMMs, the conditional VAE and the conditional
Gated PixelCNN, by Bayes' rule. Config and what it writes: configs/bayes_classifier.py."""

import json
import logging
import os
import time

import numpy as np

from genjax import launch
from genjax.config import ConfigError
from genjax.data.pipeline import eval_images
from genjax.evals import bayes_classifier as bayes
from genjax.tools import conditional_scorers
from genjax.families import gmm
from genjax.data.features import feature_data
from genjax.data.image_data import load_splits
from genjax.figures import bayes_classifier as figures
from genjax.figures.vae import FASHION_CLASSES
from genjax.training.loop import train_and_evaluate
from genjax.training.progress import read_metrics

logger = logging.getLogger('genjax.experiments.bayes_classifier')


def fit_class_mixtures(config, workdir: str, num_classes: int, train_labels) -> list[str]:
  """One mixture per class through the one loop; their workdirs, class by class."""
  counts = np.bincount(train_labels, minlength=num_classes)
  workdirs = []
  for c in range(num_classes):
    run = config.gmm.copy_and_resolve_references()
    run.data.class_label = c
    run.batch_size = int(counts[c])  # the mixture reads its class's whole training set
    workdirs.append(os.path.join(workdir, f'gmm_class{c}'))
    train_and_evaluate(gmm.FAMILY, run, workdirs[-1], final_eval_again=launch.final_eval_again(),
                       label=f'mixture {c + 1}/{num_classes} (class {c})',
                       runs_after=num_classes - c - 1)
  return workdirs


def _progress(name: str):
  start, last = time.perf_counter(), [0.0]

  def report(done: int, total: int) -> None:
    elapsed = time.perf_counter() - start
    if elapsed - last[0] >= 20 or done == total:
      last[0] = elapsed
      rate = done / max(elapsed, 1e-9)
      logger.info('%s: %d/%d test images scored under every class, %.1f images/s, ETA %.0fs',
                  name, done, total, rate, (total - done) / max(rate, 1e-9))
  return report


def _check_same_dataset(config, run_data, workdir: str) -> None:
  if run_data.name != config.gmm.data.name:
    raise ConfigError(f'{workdir} was trained on {run_data.name}, but the mixtures are fitted '
                      f'on {config.gmm.data.name}; point at a run of {config.gmm.data.name} '
                      'or set --config.gmm.data.name to its dataset.')


def classify(config, workdir: str) -> dict:
  train, test = load_splits(config.gmm.data)
  num_classes = train.num_classes
  n = config.test_examples or len(test.labels)
  prior = bayes.log_prior(train.labels, num_classes)
  names = FASHION_CLASSES if config.gmm.data.name == 'fashion_mnist' else tuple(
      str(c) for c in range(num_classes))

  # model -> (scorer, the inputs it scores, the images shown for them)
  models = {}
  mixtures = fit_class_mixtures(config, workdir, num_classes, train.labels)
  whole = config.gmm.copy_and_resolve_references()
  whole.batch_size = len(train.labels)
  features = feature_data(whole).info.features
  models['GMM per class (PCA features)'] = (
      conditional_scorers.class_gmms(mixtures), features.test[:n],
      eval_images(test, binarize='none', max_examples=n)[0])
  for key, name, load in (
      ('cvae_workdir', f'conditional VAE (IWAE, k={config.iwae_k})',
       lambda w: conditional_scorers.vae_iwae(w, num_classes=num_classes,
                                              num_samples=config.iwae_k, seed=config.gmm.seed)),
      ('pixelcnn_workdir', 'conditional Gated PixelCNN (exact)',
       lambda w: conditional_scorers.autoregressive_exact(w, num_classes=num_classes))):
    if not config[key]:
      continue
    scorer, run_data = load(config[key])
    _check_same_dataset(config, run_data, config[key])
    images, _ = eval_images(test, binarize=run_data.binarize, max_examples=n)
    models[name] = (scorer, images, images)

  labels = test.labels[:n]
  summary, least, matrices = {}, {}, {}
  for name, (scorer, inputs, shown) in models.items():
    start = time.perf_counter()
    log_lik = bayes.class_log_likelihoods(scorer, inputs, batch_size=config.batch_size,
                                          progress=_progress(name))
    summary[name] = {**bayes.summarise(log_lik, labels, prior),
                     'seconds': time.perf_counter() - start}
    logger.info('%s: %s', name, summary[name])
    np.save(os.path.join(workdir, _file_name(name) + '_log_likelihoods.npy'), log_lik)
    worst = bayes.least_likely(log_lik, labels, config.least_likely)
    least[name] = (shown[worst], log_lik[worst, labels[worst]], [names[labels[i]] for i in worst])
    matrices[name] = bayes.confusion(log_lik, labels, prior)

  out = os.path.join(workdir, 'figures')
  figures.least_likely(least, os.path.join(out, 'least_likely.png'))
  figures.confusions(matrices, names, os.path.join(out, 'confusion.png'))
  discriminative = _discriminative_accuracy(config.discriminative_metrics)
  with open(os.path.join(workdir, 'summary.json'), 'w') as f:
    json.dump({'models': summary, 'discriminative_cnn_accuracy': discriminative,
               'test_examples': int(n)}, f, indent=2)
  table = _table(summary, discriminative, config.discriminative_metrics,
                 int(np.prod(test.images.shape[1:])))
  with open(os.path.join(workdir, 'table.md'), 'w') as f:
    f.write(table)
  print(table)
  return summary


def _file_name(name: str) -> str:
  return ''.join(ch if ch.isalnum() else '_' for ch in name.split(' (')[0]).lower()


def _discriminative_accuracy(path: str):
  """The last test accuracy a classifier run recorded in its metrics.jsonl, or None."""
  if not path:
    return None
  rows = [r for r in read_metrics(path) if r['split'] == 'test']
  return rows[-1]['accuracy'] if rows else None


def _table(summary: dict, discriminative, source: str, pixels: int) -> str:
  lines = ['| model | test accuracy | mean log p(x given true y) (nats) | mean log p(x) (nats) '
           '| bits/dim of p(x) | seconds to score |', '|---|---|---|---|---|---|']
  for name, s in summary.items():
    # A mixture's density is over PCA features, not pixels: no bits/dim.
    bpd = '' if name.startswith('GMM') else f'{-s["log_px"] / (pixels * np.log(2)):.4f}'
    lines.append(f'| {name} | {s["accuracy"]:.2%} | {s["log_px_given_true_y"]:.2f} | '
                 f'{s["log_px"]:.2f} | {bpd} | {s["seconds"]:.0f} |')
  if discriminative is not None:
    lines.append(f'| discriminative CNN p(y given x) (`{source}`) | {discriminative:.2%} | | | | |')
  return '\n'.join(lines) + '\n'


if __name__ == '__main__':
  launch.run(classify)
