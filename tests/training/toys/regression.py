"""Least squares in three weights: a family whose faults a test can place exactly."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np

from genjax.training.family import Family, FamilyDef, Reporting, Training
from tests.training.toys import common


def family(nan_at_step: int = -1, poisoned_position: int = -1,
           artifacts: bool = False) -> FamilyDef:
  """Least squares whose params turn NaN after step `nan_at_step` (a finite loss there), or
  whose batch at data position `poisoned_position` holds a NaN target; with `artifacts`,
  its params are saved as artifacts.

  `poisoned_position` is the default of the config field `data.poisoned_position`; with
  `data.poisoned_process` set, only that process's rows of the batch are poisoned.
  """

  def build(config, info):
    del config, info

    def update_fn(state, batch, rng, frozen):
      del rng, frozen
      w = state.params['w']
      residual = batch['x'] @ w - batch['y']  # the loss is of the params before the step
      new_w = jnp.where(state.step == nan_at_step, jnp.nan,
                        w - 0.1 * jnp.mean(residual[:, None] * batch['x'], 0))
      return state.replace(params={'w': new_w}), {'loss': jnp.mean(residual ** 2)}

    return Family(name='toy_regression', signature={},
                  training=Training(update_fn=update_fn, make_optimizer=lambda: None,
                                    init_params=lambda rng, batch: {'w': jnp.zeros((3,))}),
                  reporting=Reporting(
                      eval_fn=lambda p, batch, r, context: {
                          'error': (batch['x'] @ p['w'] - batch['y']) ** 2},
                      artifacts_fn=(lambda p, rng, context: {'w': p['w']}) if artifacts
                      else None))

  def data(config, process_index, process_count):
    x = np.random.default_rng(0).standard_normal((64, 3)).astype(np.float32)
    arrays = {'x': x, 'y': x @ np.array([1.0, -2.0, 0.5], np.float32)}
    data = common.array_data(config, arrays, arrays, process_index, process_count)
    clean_batch = data.train.batch
    poisoned = config.data.poisoned_process in (-1, process_index)

    def batch(position):
      b = clean_batch(position)
      if poisoned and position == config.data.poisoned_position:
        return {**b, 'y': b['y'] * np.nan}
      return b

    data.train.batch = batch
    return data

  schema = lambda: common.schema(
      {}, {'poisoned_position': poisoned_position, 'poisoned_process': -1})
  return FamilyDef(name='toy_regression', schema=schema, build=build, data=data)
