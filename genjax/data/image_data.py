"""The default data of a family: an image dataset by name, as the config's `data` asks."""

from __future__ import annotations

import dataclasses
import functools

import ml_collections

from genjax import config as config_lib
from genjax import data as data_lib
from genjax.data.family_data import Data, DataInfo
from genjax.data.image_source import ImageSource, RowSubset
from genjax.data.prefetch import Prefetched


def load_splits(d: ml_collections.ConfigDict) -> tuple[ImageSource, ImageSource]:
  """The train and test splits of the dataset that a config's `data` section names."""
  load = functools.partial(data_lib.load_image_dataset, d.name, tfds_data_dir=d.tfds_data_dir,
                           tfds_download=d.tfds_download, idx_dir=d.idx_dir,
                           image_dir=d.get('image_dir', ''), image_size=d.get('image_size', 0))
  train, test = load('train'), load('test')
  channels = d.get('channels', 0)
  if channels and train.image_shape[-1] != channels:
    kind = {1: 'grayscale', 3: 'colour'}.get(channels, f'{channels}-channel')
    raise data_lib.DataError(
        f'This config is for {kind} images (data.channels={channels}), but {d.name} from '
        f'{train.source} has {train.image_shape[-1]}-channel images; choose a {kind} dataset '
        '(--config.data.name=cifar10, natural_patches, ...) or the variant made for it.')
  if test.image_shape != train.image_shape:
    raise data_lib.DataError(f'{d.name}: the test images are {test.image_shape} but the train '
                             f'images {train.image_shape}; both splits must share one size '
                             '(set --config.data.image_size).')
  return train, test


def hold_out(train: ImageSource, n: int) -> tuple[ImageSource, ImageSource]:
  """(the training images but the last n, the last n): a validation set the model never
  trains on (Goodfellow et al. choose their Parzen window on one)."""
  total = len(train)
  if not 0 <= n < total:
    raise config_lib.ConfigError(
        f'data.validation_examples={n}, but {train.name} has {total} training '
        f'images; set --config.data.validation_examples to 0..{total - 1}.')
  cut = total - n
  if not isinstance(train, data_lib.ImageArrays):
    return RowSubset(train, 0, cut, train.split), RowSubset(train, cut, total, 'validation')
  part = lambda rows, split: dataclasses.replace(train, split=split, images=train.images[rows],
                                                 labels=train.labels[rows])
  return part(slice(0, cut), train.split), part(slice(cut, None), 'validation')


def image_data(config: ml_collections.ConfigDict, process_index: int = 0,
               process_count: int = 1) -> Data:
  """The train stream of `config.data.name` and its 'test' and 'train_eval' splits.

  A family whose data section has `validation_examples` > 0 trains without the last that
  many training images (`hold_out`), which become a 'validation' split."""
  d = config.data
  train, test = load_splits(d)
  validation = None
  if d.get('validation_examples', 0):
    train, validation = hold_out(train, d.validation_examples)
  stream = data_lib.TrainStream(train, global_batch_size=config.batch_size, seed=config.seed,
                                binarize=d.binarize, random_flip=d.get('random_flip', False),
                                process_index=process_index, process_count=process_count)
  if d.get('prefetch', 0):
    stream = Prefetched(stream, d.prefetch)

  def split(arrays):
    return lambda global_batch_size, process_index, process_count, max_examples: (
        data_lib.eval_batches(arrays, global_batch_size=global_batch_size,
                              binarize=d.binarize, process_index=process_index,
                              process_count=process_count, max_examples=max_examples))

  splits = {'test': split(test), 'train_eval': split(train)}
  held = ''
  if validation is not None:
    splits['validation'] = split(validation)
    held = f', validation (held out) {_shape(validation)}'
  info = DataInfo(num_train=stream.num_examples, num_classes=train.num_classes,
                  example_shape=tuple(train.image_shape), test_images=test)
  return Data(info=info, train=stream, splits=splits,
              description=f'{d.name} train {_shape(train)}{held}, test {_shape(test)}, from '
                          f'{train.source}')


def _shape(split: ImageSource) -> tuple[int, ...]:
  return (len(split),) + tuple(split.image_shape)
