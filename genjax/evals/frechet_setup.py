"""The Fréchet distance a family reports of its samples: one setup and one rule for all.

A family (diffusion, the GAN, the priors over VQ-VAE codes) scores `eval.frechet_samples`
samples against the test images in one of two feature spaces (`eval.features`):

- 'classifier': a trained genjax classifier run (`eval.classifier`: its workdir, or a file
  `classifier_features.export` wrote), offline; comparable between genjax runs only;
- 'inception': the FID Inception network (`genjax.evals.inception_features`, weights at
  `eval.inception_weights`), by the papers' protocol; against `eval.fid_reference` (a
  statistics file) when given, else the test images' statistics.

'' (the default) is 'inception' for colour images and 'classifier' for grayscale ones. The
rules, applied before anything trains: `eval.frechet_samples == 0` skips the score; the
classifier space refuses an empty or missing `eval.classifier`, the Inception one missing
weights and fewer samples than its 2,048 dimensions, each in one line naming the remedy and
saying that `--config.eval.frechet_samples=0` skips the score.
"""

from __future__ import annotations

import dataclasses
import os
from typing import Callable

import ml_collections
import numpy as np

from genjax import commands
from genjax.config import ConfigError
from genjax.data.image_data import load_splits
from genjax.evals import classifier_features, fid_statistics, inception_features
from genjax.metrics.frechet import FrechetScorer, frechet_distance
from genjax.models import inception_weights

# The eval fields of a family that scores its samples (each sets its own frechet_samples).
FIELDS = dict(
    classifier='',  # the classifier feature space: a classifier workdir or export
    features='',  # 'classifier' | 'inception'; '': inception for colour, classifier for gray
    inception_weights='',  # the converted Inception weights; '': ~/.cache/genjax/...
    fid_reference='',  # Inception statistics (.npz) to score against; '': the test images'
    fid_resize='bilinear')  # 'bilinear' (pytorch-fid) | 'pil_bicubic' (clean-fid)
FEATURES = ('classifier', 'inception')

_REMEDY = (f'Train it first with {commands.CLASSIFIER} --config.total_epochs=6 (about 20 '
           'minutes on 2 CPU cores), or skip the score with --config.eval.frechet_samples=0.')


def features_of(e: ml_collections.ConfigDict, channels: int) -> str:
  """The feature space eval.features names, '' resolved by the images' channels."""
  if e.features and e.features not in FEATURES:
    raise ConfigError(f'eval.features={e.features!r}; choose one of {FEATURES} (or leave it '
                      'empty: inception for colour images, classifier for grayscale).')
  return e.features or ('inception' if channels == 3 else 'classifier')


def _weights(e: ml_collections.ConfigDict) -> str:
  return os.path.expanduser(e.inception_weights or inception_weights.DEFAULT_PATH)


def check(e: ml_collections.ConfigDict, channels: int) -> None:
  """Refuses, in one line, a Fréchet distance asked for (eval.frechet_samples > 0) that
  cannot be computed: without a trained classifier at eval.classifier, or, in Inception
  features, without their weights or from too few samples."""
  if not e.frechet_samples:
    return
  if features_of(e, channels) == 'inception':
    inception_features.check_sample_count(e.frechet_samples)
    inception_features.check_resize(e.fid_resize)
    if not os.path.exists(_weights(e)):
      raise ConfigError(f'eval.features=inception needs the Inception weights at '
                        f'{_weights(e)}: {inception_weights.how_to_get(_weights(e))}; or '
                        'score in a classifier\'s features (--config.eval.features=classifier)'
                        ', or skip the score with --config.eval.frechet_samples=0.')
    return
  if not e.classifier:
    raise ConfigError(
        f'eval.frechet_samples={e.frechet_samples} asks for the Fréchet distance, which '
        'needs a trained classifier: pass --config.eval.classifier=<its workdir or '
        f'export>. {_REMEDY}')
  if not os.path.exists(e.classifier):
    raise ConfigError(f'eval.classifier={e.classifier} does not exist; the Fréchet distance '
                      f'needs a trained classifier there. {_REMEDY}')


@dataclasses.dataclass(frozen=True)
class Frechet:
  """The score of a set of images in [0, 1] against the test images, and the classifier's
  logits (for mode coverage) when asked for."""
  scorer: Callable[[np.ndarray], float]  # images in [0, 1] -> their distance
  logits_of: Callable[[np.ndarray], np.ndarray] | None = None


@dataclasses.dataclass
class InceptionScorer:
  """images in [0, 1] -> their FID against fixed reference statistics."""
  features: inception_features.InceptionFeatures
  reference: fid_statistics.FidStatistics

  def __call__(self, images: np.ndarray) -> float:
    stats, _ = self.features.statistics([images], 'samples')
    return frechet_distance(stats.mu, stats.sigma, self.reference.mu, self.reference.sigma)


def setup(e: ml_collections.ConfigDict, test_images: np.ndarray, *,
          with_logits: bool = False) -> Frechet | None:
  """None when eval.frechet_samples is 0; else (after `check`) the scorer against
  `test_images` (uint8 [N, H, W, C]) in the feature space of eval.features. With
  `with_logits`, the classifier's logits too (a GAN's mode coverage), when a classifier
  is named; the Inception network's ImageNet classes are not the data's."""
  check(e, test_images.shape[-1])
  if not e.frechet_samples:
    return None
  if features_of(e, test_images.shape[-1]) == 'inception':
    features = inception_features.InceptionFeatures(_weights(e), resize=e.fid_resize)
    if e.fid_reference:
      reference = fid_statistics.load(e.fid_reference, resize=e.fid_resize)
    else:
      batches = (test_images[i:i + features.batch_size].astype(np.float32) / 255.0
                 for i in range(0, len(test_images), features.batch_size))
      reference, _ = features.statistics(batches, 'the test images')
    logits_of = None
    if with_logits and e.classifier:
      logits_of = classifier_features.load_feature_and_logits_fns(e.classifier)[1]
    return Frechet(InceptionScorer(features, reference), logits_of)
  reference = test_images.astype(np.float32) / 255.0
  if with_logits:
    features_fn, logits_of = classifier_features.load_feature_and_logits_fns(e.classifier)
    return Frechet(FrechetScorer(features_fn, reference), logits_of)
  return Frechet(FrechetScorer(classifier_features.load_feature_fn(e.classifier), reference))


def floor_images(data_config: ml_collections.ConfigDict, num: int, seed: int) -> np.ndarray:
  """`num` training images in [0, 1], drawn without replacement by `seed`: scored like the
  samples, they give the distance's floor at that sample count."""
  train, _ = load_splits(data_config)
  pick = np.random.default_rng(seed).choice(len(train.images), num, replace=False)
  return train.images[pick].astype(np.float32) / 255.0
