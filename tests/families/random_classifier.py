"""A classifier of 8x8 digits with random weights, exported as the Fréchet tools read one:
enough to exercise the scores' code in a family's smoke run, not to judge samples."""

import json
import os

import flax
import jax
import jax.numpy as jnp

from genjax.models.classifier import Classifier
from tests.conftest import SMOKE_RUNS
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


def session_random_digits_classifier():
  """The same export at one path for the whole session: a run that names it can be shared
  by every worker (tests/smoke_runs.py keys runs on their flags, this path among them).
  Each worker may write it; the bytes are the same, and each write replaces it whole."""
  os.makedirs(SMOKE_RUNS, exist_ok=True)
  path = os.path.join(SMOKE_RUNS, 'random_digits_classifier.msgpack')
  if not os.path.exists(path):
    written = random_digits_classifier(f'{path}.{os.getpid()}')
    os.replace(written, path)
  return path
