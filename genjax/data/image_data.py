"""The default data of a family: an image dataset by name, as the config's `data` asks."""

from __future__ import annotations

import dataclasses
import functools

import ml_collections

from genjax import config as config_lib
from genjax import data as data_lib
from genjax.data.family_data import Data, DataInfo


def load_splits(d: ml_collections.ConfigDict) -> tuple[data_lib.ImageArrays,
                                                       data_lib.ImageArrays]:
  """The train and test splits of the dataset that a config's `data` section names."""
  load = functools.partial(data_lib.load_image_dataset, d.name, tfds_data_dir=d.tfds_data_dir,
                           tfds_download=d.tfds_download, idx_dir=d.idx_dir)
  return load('train'), load('test')


def hold_out(train: data_lib.ImageArrays, n: int) -> tuple[data_lib.ImageArrays,
                                                           data_lib.ImageArrays]:
  """(the training images but the last n, the last n): a validation set the model never
  trains on (Goodfellow et al. choose their Parzen window on one)."""
  if not 0 <= n < len(train.images):
    raise config_lib.ConfigError(
        f'data.validation_examples={n}, but {train.name} has {len(train.images)} training '
        f'images; set --config.data.validation_examples to 0..{len(train.images) - 1}.')
  cut = len(train.images) - n
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
                                binarize=d.binarize, process_index=process_index,
                                process_count=process_count)

  def split(arrays):
    return lambda global_batch_size, process_index, process_count, max_examples: (
        data_lib.eval_batches(arrays, global_batch_size=global_batch_size,
                              binarize=d.binarize, process_index=process_index,
                              process_count=process_count, max_examples=max_examples))

  splits = {'test': split(test), 'train_eval': split(train)}
  held = ''
  if validation is not None:
    splits['validation'] = split(validation)
    held = f', validation (held out) {validation.images.shape}'
  info = DataInfo(num_train=stream.num_examples, num_classes=train.num_classes,
                  example_shape=tuple(train.images.shape[1:]), test_images=test)
  return Data(info=info, train=stream, splits=splits,
              description=f'{d.name} train {train.images.shape}{held}, test '
                          f'{test.images.shape}, from {train.source}')
