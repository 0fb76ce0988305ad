"""Image datasets as feature vectors, the whole training set in every batch: the data of
families fitted on the full batch (EM for a Gaussian mixture).

Images are flattened to [0, 1] and, with `data.pca_dims > 0`, projected on the training
set's top principal axes (`genjax.models.pca.fit`: the eigenvectors of the centred
training images' covariance, signs as scikit-learn's). With `data.dequantize` (pixels
only) each 8-bit pixel k becomes y = (k + u) / 256, u ~ U[0, 1) drawn once from the run's
seed, the convention of the 8-bit densities (`genjax.objectives.glow`): a density of y then bounds the
8-bit data's likelihood, in the same bits/dim as every other family's. With
`data.class_label >= 0` both splits keep only that class's images, in the axes of the
whole training set, so that the class-conditional densities of every class live in one
feature space (the p(x|y) classifier compares them).
"""

from __future__ import annotations

import dataclasses
import functools

import jax
import ml_collections
import numpy as np

from genjax import config as config_lib
from genjax import data as data_lib
from genjax.data.arrays import common_length, local_slice
from genjax.data.pipeline import to_unit_interval
from genjax.data.image_data import load_splits
from genjax.models import pca
from genjax.objectives import glow as eight_bit
from genjax.data.family_data import Data, DataInfo


@dataclasses.dataclass(frozen=True)
class Features:
  """Both splits as features, and the map back to pixels.

  Attributes:
    train, test: [N, D] float32 features.
    test_labels: [N_test] int32.
    image_shape: one image's [H, W, C].
    projection: the `genjax.models.pca` params whose codes the features are; None without
      PCA.
  """
  train: np.ndarray
  test: np.ndarray
  test_labels: np.ndarray
  image_shape: tuple[int, ...]
  projection: dict[str, np.ndarray] | None = None

  def to_images(self, features: np.ndarray) -> np.ndarray:
    """Features back to images [n, H, W, C] in [0, 1] (clipped)."""
    pixels = (features if self.projection is None
              else np.asarray(pca.decode(self.projection, features)))
    return np.clip(pixels, 0.0, 1.0).reshape((-1,) + self.image_shape)


class WholeSetStream(data_lib.StepStream):
  """Every step's batch is the whole set in its stored order (this host's rows of it)."""

  def __init__(self, arrays, *, process_index: int = 0, process_count: int = 1):
    self.num_examples = self.global_batch_size = common_length(arrays)
    rows = local_slice(self.num_examples, process_index, process_count)
    self._rows = {key: a[rows] for key, a in arrays.items()}

  def batch(self, step: int) -> dict[str, np.ndarray]:
    del step
    return self._rows


def _flat(images: np.ndarray) -> np.ndarray:
  return to_unit_interval(images).reshape(len(images), -1)


@functools.lru_cache(maxsize=2)
def _projected_splits(name: str, tfds_data_dir: str, tfds_download: bool, idx_dir: str,
                      pca_dims: int, dequantize_seed: int = -1):
  """(train, test, x_train, x_test, projection), kept for the next run of the process: a
  sweep's runs (one per K, one per class) share one dataset and one PCA, whose SVD of
  60,000 x 784 would otherwise be most of a small mixture's time."""
  d = ml_collections.ConfigDict(dict(name=name, tfds_data_dir=tfds_data_dir,
                                     tfds_download=tfds_download, idx_dir=idx_dir))
  train, test = load_splits(d)
  x_train, x_test = _flat(train.images), _flat(test.images)
  n, pixels = x_train.shape
  if pca_dims > min(n, pixels):
    raise config_lib.ConfigError(
        f'data.pca_dims={pca_dims} exceeds the {pixels} pixels ({n} examples) of {name}; '
        f'set --config.data.pca_dims={min(n, pixels)} or fewer (0 keeps the pixels).')
  projection = None
  if dequantize_seed >= 0:
    noise = np.random.default_rng(dequantize_seed)
    x_train, x_test = (np.asarray(eight_bit.dequantize(
        np.round(x * 255.0), noise.random(x.shape, np.float32))) for x in (x_train, x_test))
  if pca_dims:
    projection = jax.tree.map(np.asarray, pca.fit(x_train, pca_dims))
    x_train, x_test = (np.asarray(pca.encode(projection, x)) for x in (x_train, x_test))
  return train, test, x_train, x_test, projection


def feature_data(config: ml_collections.ConfigDict, process_index: int = 0,
                 process_count: int = 1) -> Data:
  """The features of `config.data.name`'s images, as `whole_set_data`."""
  d = config.data
  dequantize = d.get('dequantize', False)
  if dequantize and d.pca_dims:
    raise config_lib.ConfigError(
        f'data.dequantize models 8-bit pixels, but data.pca_dims={d.pca_dims} projects them '
        'to fewer dimensions (no density on the pixels); set --config.data.pca_dims=0.')
  train, test, x_train, x_test, projection = _projected_splits(
      d.name, d.tfds_data_dir, d.tfds_download, d.idx_dir, d.pca_dims,
      config.seed if dequantize else -1)
  n, pixels = train.images.shape[0], int(np.prod(train.images.shape[1:]))
  if d.class_label >= train.num_classes:
    raise config_lib.ConfigError(
        f'data.class_label={d.class_label}, but {d.name} has classes 0 to '
        f'{train.num_classes - 1}; set one of them, or -1 for all classes.')
  test_labels = test.labels
  if d.class_label >= 0:
    x_train = x_train[train.labels == d.class_label]
    x_test, test_labels = (a[test.labels == d.class_label] for a in (x_test, test_labels))
  features = Features(train=x_train, test=x_test, test_labels=test_labels,
                      image_shape=tuple(train.images.shape[1:]), projection=projection)
  projected = f', PCA to {d.pca_dims} dims' if d.pca_dims else ''
  projected += ', dequantised (k + u) / 256' if dequantize else ''
  if d.class_label >= 0:
    projected += f', class {d.class_label} only ({len(x_train)} train images)'
  return whole_set_data(features, config, process_index, process_count,
                        description=f'{d.name} train {n}x{pixels}, test {len(x_test)}'
                                    f'{projected}, from {train.source}',
                        num_classes=train.num_classes)


def whole_set_data(features: Features, config: ml_collections.ConfigDict,
                   process_index: int = 0, process_count: int = 1, *, description: str = '',
                   num_classes: int = 0) -> Data:
  """A Data whose every train batch is `features.train`, with a padded 'test' split;
  `config.batch_size` must be the training set's size. `info.features` is `features`."""
  n = len(features.train)
  if config.batch_size != n:
    raise config_lib.ConfigError(
        f'batch_size={config.batch_size}, but this family reads the whole training set in '
        f'every step and it has {n} examples; set --config.batch_size={n}.')

  def test_split(global_batch_size, process_index, process_count, max_examples):
    return data_lib.padded_eval_batches({'x': features.test},
                                        global_batch_size=global_batch_size,
                                        process_index=process_index,
                                        process_count=process_count, max_examples=max_examples)

  info = DataInfo(num_train=n, num_classes=num_classes,
                  example_shape=features.train.shape[1:], features=features)
  return Data(info=info,
              train=WholeSetStream({'x': features.train}, process_index=process_index,
                                   process_count=process_count),
              splits={'test': test_split}, description=description or f'{n} examples')
