"""The classifier family: a Fashion-MNIST CNN trained by the one loop.

Its purpose is the feature space of genjax's offline Fréchet distance: train it once
(configs/classifier.py), then `genjax.evals.classifier_features` reads the run.

It models p(label | image), no distribution over images: a trained classifier offers
nothing to sample, score or encode through `genjax.load` (its `Inference` is empty); the
Fréchet features are read with `genjax.evals.classifier_features`. Training computes in
config.compute_dtype (logits and the cross-entropy float32); evaluation in float32.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np

from genjax import config as config_lib
from genjax.data.image_data import image_data
from genjax.figures import classifier as classifier_figures
from genjax.models.classifier import cross_entropy, make_model
from genjax.training.family import Family, FamilyDef, Inference, Reporting, Training

_CONFUSION_EXAMPLES = 10000


def schema() -> ml_collections.ConfigDict:
  return config_lib.with_family_schema(
      model=dict(conv_channels=(32, 64), hidden=256, dropout=0.3),
      eval_=dict(test_examples=0, train_examples=10000))


def build(config: ml_collections.ConfigDict, info) -> Family:
  if config.data.binarize != 'none':
    raise config_lib.ConfigError('The classifier sees grey-level images; set --config.data.binarize=none.')
  model = make_model(config.model, info.num_classes)
  train_model = make_model(config.model, info.num_classes, config.compute_dtype)

  def init_params(rng, batch):
    return model.init(rng, jnp.asarray(batch['image'][:1]))

  def loss_fn(params, batch, rng, context):
    del context
    logits = train_model.apply(params, batch['image'], train=True, rngs={'dropout': rng})
    nll = cross_entropy(logits, batch['label'])
    accuracy = jnp.mean(jnp.argmax(logits, -1) == batch['label'])
    return jnp.mean(nll), {'accuracy': accuracy}

  def eval_fn(params, batch, rng, context):
    del rng, context
    logits = model.apply(params, batch['image'])
    return {'nll': cross_entropy(logits, batch['label']),
            'accuracy': (jnp.argmax(logits, -1) == batch['label']).astype(jnp.float32)}

  if info.test_images is None:  # built without the data (genjax.load): no figures
    artifacts_fn = None
  else:
    artifacts_fn = _artifacts(model, info)

  return Family(
      name='classifier',
      signature={'model': config.model.to_dict(), 'image_shape': list(info.image_shape),
                 'num_classes': info.num_classes},
      training=Training(init_params=init_params, loss_fn=loss_fn),
      reporting=Reporting(eval_fn=eval_fn, artifacts_fn=artifacts_fn,
                          render_figures=classifier_figures.render_run,
                          eval_examples=config.eval.test_examples,
                          train_eval_examples=config.eval.train_examples),
      inference=Inference())  # p(label | image) only: nothing to sample or score


def _artifacts(model, info):
  test_images = info.test_images.images[:_CONFUSION_EXAMPLES].astype(np.float32) / 255.0
  test_labels = info.test_images.labels[:_CONFUSION_EXAMPLES]
  predict = jax.jit(lambda p, x: jnp.argmax(model.apply(p, x), -1))

  def artifacts_fn(params, rng, context):
    del rng, context
    pred = np.concatenate([np.asarray(predict(params, test_images[i:i + 1000]))
                           for i in range(0, len(test_images), 1000)])
    k = info.num_classes
    confusion = np.zeros((k, k), np.int64)
    np.add.at(confusion, (test_labels, pred), 1)
    return {'confusion': confusion, 'examples': test_images[:32],
            'example_labels': test_labels[:32], 'example_predictions': pred[:32]}

  return artifacts_fn


RANGES = {
    'model.conv_channels': 'positive_each',
    'model.hidden': 'positive',
    'model.dropout': 'unit_interval',
}

FAMILY = FamilyDef(name='classifier', schema=schema, build=build, data=image_data,
                   ranges=RANGES, compute_dtypes=config_lib.COMPUTE_DTYPES)
