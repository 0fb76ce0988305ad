"""The Fréchet distance a family reports of its samples: one setup and one rule for all.

A family (diffusion, the GAN, the priors over VQ-VAE codes) scores `eval.frechet_samples`
samples against the test images in the feature space of a trained classifier run
(`eval.classifier`: its workdir, or a file `classifier_features.export` wrote). The rule,
applied before anything trains: `eval.frechet_samples == 0` skips the score; otherwise an
empty `eval.classifier`, or one that does not exist, is refused in one line that names the
command training the classifier and says that `--config.eval.frechet_samples=0` skips the
score.
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
from genjax.evals import classifier_features
from genjax.metrics.frechet import FrechetScorer

_REMEDY = (f'Train it first with {commands.CLASSIFIER} --config.total_epochs=6 (about 20 '
           'minutes on 2 CPU cores), or skip the score with --config.eval.frechet_samples=0.')


def check(e: ml_collections.ConfigDict) -> None:
  """Refuses, in one line, a Fréchet distance asked for (eval.frechet_samples > 0) without
  a trained classifier at eval.classifier."""
  if not e.frechet_samples:
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
  scorer: FrechetScorer
  logits_of: Callable[[np.ndarray], np.ndarray] | None = None


def setup(e: ml_collections.ConfigDict, test_images: np.ndarray, *,
          with_logits: bool = False) -> Frechet | None:
  """None when eval.frechet_samples is 0; else (after `check`) the scorer against
  `test_images` (uint8 [N, H, W, C]) in the classifier's feature space."""
  check(e)
  if not e.frechet_samples:
    return None
  reference = test_images.astype(np.float32) / 255.0
  if with_logits:
    features_of, logits_of = classifier_features.load_feature_and_logits_fns(e.classifier)
    return Frechet(FrechetScorer(features_of, reference), logits_of)
  return Frechet(FrechetScorer(classifier_features.load_feature_fn(e.classifier), reference))


def floor_images(data_config: ml_collections.ConfigDict, num: int, seed: int) -> np.ndarray:
  """`num` training images in [0, 1], drawn without replacement by `seed`: scored like the
  samples, they give the distance's floor at that sample count."""
  train, _ = load_splits(data_config)
  pick = np.random.default_rng(seed).choice(len(train.images), num, replace=False)
  return train.images[pick].astype(np.float32) / 255.0
