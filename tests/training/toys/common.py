"""What the toy families share: a config of a few fused steps, and in-memory data."""

from __future__ import annotations

from typing import Any, Mapping

import ml_collections
import numpy as np

from genjax import config as config_lib
from genjax import data as data_lib
from genjax.data.family_data import Data, DataInfo


def schema(model: Mapping[str, Any], data: Mapping[str, Any],
           objective: Mapping[str, Any] = ()) -> ml_collections.ConfigDict:
  return config_lib.with_family_schema(model=model, objective=objective, data=data)


def config(family_def, **fields) -> ml_collections.ConfigDict:
  """family_def's schema as a run of 8 steps, 2 per call, saved every 4; `fields` override."""
  c = family_def.schema()
  c.family = family_def.name
  c.batch_size, c.eval_batch_size = 32, 64
  c.total_steps, c.total_epochs, c.steps_per_call = 8, 0.0, 2
  c.log_every, c.eval_every, c.ckpt_every = 2, 4, 4
  for name, value in fields.items():
    if isinstance(value, dict):  # a section: change only the fields given
      c[name].update(value)
    else:
      c[name] = value
  return c


def array_data(config: ml_collections.ConfigDict, train: Mapping[str, np.ndarray],
               test: Mapping[str, np.ndarray], process_index: int, process_count: int,
               **info) -> Data:
  """A Data of in-memory arrays: shuffled train batches, padded test batches."""
  stream = data_lib.ArrayStream(train, global_batch_size=config.batch_size, seed=config.seed,
                                process_index=process_index, process_count=process_count)

  def test_split(global_batch_size, process_index, process_count, max_examples):
    return data_lib.padded_eval_batches(test, global_batch_size=global_batch_size,
                                        process_index=process_index,
                                        process_count=process_count, max_examples=max_examples)

  return Data(info=DataInfo(num_train=stream.num_examples, **info), train=stream,
              splits={'test': test_split}, description=f'{stream.num_examples} toy examples')
