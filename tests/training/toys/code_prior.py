"""A toy prior over stored code grids: independent per-position categoricals, fitted by
maximum likelihood to the codes a first stage saved with `genjax.data.save_code_grids`.

Its NLL can reach the grids' per-position empirical entropy, which makes a test exact.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import optax

from genjax import data as data_lib
from genjax.data.family_data import Data, DataInfo
from genjax.training.family import Family, FamilyDef, Reporting, Training
from tests.training.toys import common


def schema():
  return common.schema(model=dict(learning_rate=0.1), data=dict(codes_path=''))


def data(config, process_index, process_count) -> Data:
  grids = data_lib.load_code_grids(config.data.codes_path,
                                   make_command='the toy test that writes them')
  stream = data_lib.code_grid_stream(grids, global_batch_size=config.batch_size,
                                     seed=config.seed, process_index=process_index,
                                     process_count=process_count)

  def test_split(global_batch_size, process_index, process_count, max_examples):
    return data_lib.padded_eval_batches(
        data_lib.code_grid_arrays(grids), global_batch_size=global_batch_size,
        process_index=process_index, process_count=process_count, max_examples=max_examples)

  info = DataInfo(num_train=stream.num_examples, example_shape=grids.codes.shape[1:],
                  vocab_size=grids.num_codes)
  return Data(info=info, train=stream, splits={'test': test_split},
              description=f'{len(grids.codes)} code grids from {grids.source}')


def build(config, info) -> Family:
  shape = (*info.example_shape, info.vocab_size)

  def nll(params, batch):
    log_probs = jax.nn.log_softmax(params['logits'])[None]
    picked = jnp.take_along_axis(log_probs, batch['codes'][..., None], -1)[..., 0]
    return -picked.sum(axis=(1, 2))

  return Family(
      name='toy_code_prior', signature={'shape': list(shape)},
      training=Training(init_params=lambda rng, batch: {'logits': jnp.zeros(shape)},
                        loss_fn=lambda p, batch, rng, context: (jnp.mean(nll(p, batch)), {}),
                        make_optimizer=lambda: optax.adam(config.model.learning_rate)),
      reporting=Reporting(eval_fn=lambda p, batch, rng, context: {'nll': nll(p, batch)}))


FAMILY = FamilyDef(name='toy_code_prior', schema=schema, build=build, data=data)
