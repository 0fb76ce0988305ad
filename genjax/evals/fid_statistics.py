"""The reference statistics of a Fréchet Inception Distance: the mean and covariance of a
set of images' 2048-d Inception pool3 features, with what they were computed from.

Saved as an .npz with `mu` [2048] and `sigma` [2048, 2048] (the names pytorch-fid's and
guided-diffusion's published statistics use, so those files load here too) and, when
genjax wrote it, the feature extractor, the resize, the sample count and the source. A file
of another shape, or one genjax wrote with another extractor or resize, is refused in one
line: a Fréchet distance between statistics of different features is not a score.
"""

from __future__ import annotations

import dataclasses
import json

import numpy as np
from etils import epath

from genjax.errors import UserError

FEATURE_DIMS = 2048
EXTRACTOR = 'inception-2015-12-05 pool3'  # the TF graph pytorch-fid's FID network reproduces


class StatisticsError(ValueError, UserError):
  """Reference statistics that cannot be compared with these features."""


@dataclasses.dataclass(frozen=True)
class FidStatistics:
  """mu [2048], sigma [2048, 2048] (float64) of `num_samples` images from `source`, their
  features by `extractor` after resizing by `resize` ('' when the file does not say)."""
  mu: np.ndarray
  sigma: np.ndarray
  num_samples: int = 0
  source: str = ''
  extractor: str = EXTRACTOR
  resize: str = ''

  def describe(self) -> str:
    count = f'{self.num_samples:,} images' if self.num_samples else 'an unstated count'
    return f'{self.source or "unnamed statistics"} ({count}, {self.resize or "resize unstated"})'

  def save(self, path: str) -> None:
    record = {'num_samples': self.num_samples, 'source': self.source,
              'extractor': self.extractor, 'resize': self.resize}
    with epath.Path(path).open('wb') as f:
      np.savez(f, mu=self.mu, sigma=self.sigma, genjax=json.dumps(record))


def load(path: str, *, resize: str = '') -> FidStatistics:
  """The statistics in `path` (genjax's, pytorch-fid's or guided-diffusion's .npz).

  Args:
    path: the .npz.
    resize: the resize the scores will use; a genjax file that recorded another is refused.
  """
  if not epath.Path(path).exists():
    raise StatisticsError(f'No reference statistics at {path}; compute them with python -m '
                          'experiments.fid_stats --dataset=<name> --split=train '
                          f'--out={path}, or point at a published .npz (mu, sigma).')
  with epath.Path(path).open('rb') as f, np.load(f) as npz:
    if 'mu' not in npz.files or 'sigma' not in npz.files:
      raise StatisticsError(f'{path} holds {sorted(npz.files)}, not the mu and sigma of '
                            'Inception features; point at FID reference statistics.')
    mu, sigma = np.asarray(npz['mu'], np.float64), np.asarray(npz['sigma'], np.float64)
    record = json.loads(str(npz['genjax'])) if 'genjax' in npz.files else {}
  if mu.shape != (FEATURE_DIMS,) or sigma.shape != (FEATURE_DIMS, FEATURE_DIMS):
    raise StatisticsError(f'{path} holds statistics of {mu.shape[-1] if mu.ndim else 0}-d '
                          f'features (mu {mu.shape}, sigma {sigma.shape}), not the '
                          f'{FEATURE_DIMS}-d Inception pool3 ones FID uses; compute them '
                          'with python -m experiments.fid_stats.')
  stats = FidStatistics(mu=mu, sigma=sigma, num_samples=record.get('num_samples', 0),
                        source=record.get('source', str(path)),
                        extractor=record.get('extractor', EXTRACTOR),
                        resize=record.get('resize', ''))
  if stats.extractor != EXTRACTOR:
    raise StatisticsError(f'{path} was computed with {stats.extractor!r} features, not '
                          f'{EXTRACTOR!r}; compute them again with python -m '
                          'experiments.fid_stats.')
  if resize and stats.resize and stats.resize != resize:
    raise StatisticsError(f'{path} was computed with the {stats.resize!r} resize, these '
                          f'scores use {resize!r}; compute the statistics with '
                          f'--resize={resize}, or score with --config.eval.fid_resize='
                          f'{stats.resize}.')
  return stats
