"""The feature space of genjax's offline Fréchet distance: a trained classifier run.

`load_feature_fn(path)` gives images -> penultimate features from a classifier run's latest
checkpoint (EMA params when the run kept them) or from a file written by `export`, which
moves the trained network as one msgpack file.
"""

from __future__ import annotations

import json
import os

import flax.serialization
import jax
import jax.numpy as jnp
import numpy as np

from genjax import commands
from genjax.models.classifier import Classifier, make_model
from genjax.training import restore


def load_checkpoint(workdir: str):
  """(model, eval params, signature) of the latest checkpoint a classifier run left."""
  run = restore.load_run(workdir, family='classifier', train_command=commands.CLASSIFIER)
  model = make_model(run.signature['model'], run.signature['num_classes'])
  return model, run.eval_params, run.signature


def export(workdir: str, path: str) -> str:
  """Writes the latest checkpoint's network (eval params and model config) to one file."""
  _, params, signature = load_checkpoint(workdir)
  blob = {'signature': json.dumps(dict(signature)),
          'params': flax.serialization.to_state_dict(jax.device_get(params))}
  os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
  with open(path, 'wb') as f:
    f.write(flax.serialization.msgpack_serialize(blob))
  return path


def load_exported(path: str):
  """(model, params, signature) from a file written by `export`."""
  with open(path, 'rb') as f:
    blob = flax.serialization.msgpack_restore(f.read())
  signature = json.loads(blob['signature'])
  return make_model(signature['model'], signature['num_classes']), blob['params'], signature


def feature_fn(model: Classifier, params):
  """images [N, H, W, 1] in [0, 1] -> penultimate features [N, hidden], jitted."""
  f = jax.jit(lambda p, x: model.apply(p, x, method=Classifier.features))
  return lambda images: np.asarray(f(params, jnp.asarray(images, jnp.float32)))


def logits_fn(model: Classifier, params):
  """images [N, H, W, 1] in [0, 1] -> class logits [N, classes], jitted."""
  f = jax.jit(lambda p, x: model.apply(p, x))
  return lambda images: np.asarray(f(params, jnp.asarray(images, jnp.float32)))


def _load(path: str):
  if not os.path.exists(path):
    raise restore.RunNotFoundError(
        f'No classifier at {path}: the Fréchet distance reads a classifier run or a file '
        f'exported from one. Train it with {commands.CLASSIFIER}, or point the score at one.')
  return load_checkpoint(path) if os.path.isdir(path) else load_exported(path)


def load_feature_fn(path: str):
  """Feature function from a classifier workdir or an exported file."""
  model, params, _ = _load(path)
  return feature_fn(model, params)


def load_feature_and_logits_fns(path: str):
  """(feature function, logits function) of one classifier, read once."""
  model, params, _ = _load(path)
  return feature_fn(model, params), logits_fn(model, params)
