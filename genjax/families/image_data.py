"""The default data of a family: an image dataset by name, as the config's `data` asks."""

from __future__ import annotations

import functools

import ml_collections

from genjax import data as data_lib
from genjax.training.family import Data, DataInfo


def load_splits(d: ml_collections.ConfigDict) -> tuple[data_lib.ImageArrays,
                                                       data_lib.ImageArrays]:
  """The train and test splits of the dataset that a config's `data` section names."""
  load = functools.partial(data_lib.load_image_dataset, d.name, tfds_data_dir=d.tfds_data_dir,
                           tfds_download=d.tfds_download, idx_dir=d.idx_dir)
  return load('train'), load('test')


def image_data(config: ml_collections.ConfigDict, process_index: int = 0,
               process_count: int = 1) -> Data:
  """The train stream of `config.data.name` and its 'test' and 'train_eval' splits."""
  d = config.data
  train, test = load_splits(d)
  stream = data_lib.TrainStream(train, global_batch_size=config.batch_size, seed=config.seed,
                                binarize=d.binarize, process_index=process_index,
                                process_count=process_count)

  def split(arrays):
    return lambda global_batch_size, process_index, process_count, max_examples: (
        data_lib.eval_batches(arrays, global_batch_size=global_batch_size,
                              binarize=d.binarize, process_index=process_index,
                              process_count=process_count, max_examples=max_examples))

  info = DataInfo(num_train=stream.num_examples, num_classes=train.num_classes,
                  example_shape=tuple(train.images.shape[1:]), test=test)
  return Data(info=info, train=stream, splits={'test': split(test), 'train_eval': split(train)},
              description=f'{d.name} train {train.images.shape}, test {test.images.shape}, '
                          f'from {train.source}')
