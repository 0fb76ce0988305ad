"""Inception features of images, by the protocol the papers' FIDs were computed with.

- Images are quantised to uint8 first (samples in [0, 1] as a PNG would store them): a
  score of unquantised samples is of images nobody can save (score_sde's fix).
- Grayscale images are repeated to three channels, as PIL's convert('RGB') does.
- The resize to 299 is pytorch-fid's bilinear one (inside `genjax.models.inception`), or
  clean-fid's PIL bicubic on the uint8 image ('pil_bicubic'); the name goes with every score.
- The network is only ever in inference mode (it has no other: `InceptionV3`).
- Features are computed a batch at a time over the local devices, and their moments
  accumulated in float64 (`genjax.metrics.feature_moments`), never from one batch.
- A covariance of 2048-d features from fewer than 2048 images is singular: such a count is
  refused, and 50,000 recommended (the papers' count).
"""

from __future__ import annotations

import os
from typing import Iterable

import jax
import numpy as np
from PIL import Image

from genjax.config import ConfigError
from genjax.evals.fid_statistics import FEATURE_DIMS, FidStatistics
from genjax.metrics.feature_moments import FeatureMoments
from genjax.models import inception_weights
from genjax.models.inception import INPUT_SIZE, InceptionV3
from genjax.training import mesh as mesh_lib

RESIZES = ('bilinear', 'pil_bicubic')
RECOMMENDED_SAMPLES = 50_000
MIN_SAMPLES = FEATURE_DIMS  # below it the covariance is singular


def check_sample_count(num: int, what: str = 'eval.frechet_samples') -> None:
  """One line refusing fewer samples than the features have dimensions."""
  if num < MIN_SAMPLES:
    raise ConfigError(f'{what}={num}: the covariance of {FEATURE_DIMS}-d Inception features '
                      f'from fewer than {FEATURE_DIMS} samples is singular, and the FID '
                      f'meaningless; use {RECOMMENDED_SAMPLES:,} (the papers\' count).')


def check_resize(resize: str) -> None:
  if resize not in RESIZES:
    raise ConfigError(f'The FID resize {resize!r} is not one of {RESIZES}: bilinear is '
                      "pytorch-fid's, pil_bicubic clean-fid's.")


def quantize(images01: np.ndarray) -> np.ndarray:
  """Images in [0, 1] -> uint8, rounded as a PNG of them would store them."""
  return np.clip(np.round(np.asarray(images01, np.float32) * 255.0), 0, 255).astype(np.uint8)


def _pil_bicubic(images_u8: np.ndarray) -> np.ndarray:
  return np.stack([np.asarray(Image.fromarray(im).resize((INPUT_SIZE, INPUT_SIZE),
                                                         Image.BICUBIC))
                   for im in images_u8])


class InceptionFeatures:
  """images in [0, 1] ([N, H, W, 1 or 3]) -> pool3 features [N, 2048] and the logits of the
  Inception Score [N, 1008], both float64.

  Args:
    weights: the converted weights (`genjax.models.inception_weights`), or their variables.
    resize: 'bilinear' (pytorch-fid) or 'pil_bicubic' (clean-fid).
    batch_size: images per compiled call, a multiple of the local device count.
  """

  def __init__(self, weights=inception_weights.DEFAULT_PATH, *, resize: str = 'bilinear',
               batch_size: int = 200):
    check_resize(resize)
    self.resize = resize
    self.variables = (inception_weights.load(os.path.expanduser(weights))
                      if isinstance(weights, str) else weights)
    self.mesh = mesh_lib.make_mesh(jax.local_devices())
    devices = self.mesh.size
    self.batch_size = max(devices, batch_size // devices * devices)
    network = InceptionV3()

    def features(variables, images):
      out = network.apply(variables, images)
      return out['pool3'], out['logits_unbiased']

    self._features = jax.jit(features, in_shardings=(mesh_lib.replicated(self.mesh),
                                                     mesh_lib.batch_sharding(self.mesh)),
                             out_shardings=mesh_lib.replicated(self.mesh))

  def _prepared(self, images01: np.ndarray) -> np.ndarray:
    images = quantize(images01)
    if images.shape[-1] == 1:
      images = np.repeat(images, 3, axis=-1)
    if self.resize == 'pil_bicubic':
      images = _pil_bicubic(images)
    return images.astype(np.float32) / 255.0

  def __call__(self, images01: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    pool3, logits = [], []
    for start in range(0, len(images01), self.batch_size):
      batch = self._prepared(images01[start:start + self.batch_size])
      real = len(batch)
      pad = -real % self.mesh.size  # whole rows per device; the padding is dropped
      batch = np.concatenate([batch, np.zeros((pad,) + batch.shape[1:], batch.dtype)])
      f, l = self._features(self.variables, batch)
      pool3.append(np.asarray(f, np.float64)[:real])
      logits.append(np.asarray(l, np.float64)[:real])
    return np.concatenate(pool3), np.concatenate(logits)

  def statistics(self, batches: Iterable[np.ndarray], source: str,
                 progress=None) -> tuple[FidStatistics, np.ndarray]:
    """(FidStatistics of every image the batches hold, their Inception Score logits)."""
    moments, logits = FeatureMoments(FEATURE_DIMS), []
    for images in batches:
      f, l = self(images)
      moments.add(f)
      logits.append(l.astype(np.float32))
      if progress is not None:
        progress(moments.count)
    return (FidStatistics(mu=moments.mean(), sigma=moments.covariance(),
                          num_samples=moments.count, source=source, resize=self.resize),
            np.concatenate(logits))
