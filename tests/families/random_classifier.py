"""A classifier of 8x8 digits with random weights, exported as the Fréchet tools read one:
enough to exercise the scores' code in a family's smoke run, not to judge samples."""

import json

import flax
import jax
import jax.numpy as jnp

from genjax.models.classifier import Classifier
from tests.numpy_init import numpy_variables


def random_digits_classifier(path):
  """Writes the export to `path` and returns it."""
  model = Classifier(num_classes=10, conv_channels=(4, 8), hidden=16, dropout=0.0)
  params = numpy_variables(model, jnp.zeros((1, 8, 8, 1)), scale=0.3)
  signature = {'model': {'conv_channels': [4, 8], 'hidden': 16, 'dropout': 0.0},
               'num_classes': 10}
  blob = {'signature': json.dumps(signature),
          'params': flax.serialization.to_state_dict(jax.device_get(params))}
  with open(path, 'wb') as f:
    f.write(flax.serialization.msgpack_serialize(blob))
  return path
