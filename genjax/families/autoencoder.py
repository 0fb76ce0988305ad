"""The autoencoder family: a deterministic code, trained on squared error or Bernoulli NLL.

Evaluation reports the per-image reconstruction error that the PCA family reports
(`genjax.objectives.reconstruction`), so the two are compared by the same numbers.

What a trained autoencoder offers (`genjax.load`): `encode` (images -> codes) and `decode`
(codes -> images). It is not a generative model: its codes have no prior to draw from and
its decoder no density over images, so it offers no sampler and no likelihood (the
Bernoulli loss is -log p(x | x's own code), a reconstruction error, not -log p(x)).
Training computes in config.compute_dtype (the decoder output and the loss float32);
evaluation, codes and figures in float32.
"""

from __future__ import annotations

import jax.numpy as jnp
import ml_collections
import numpy as np

from genjax import config as config_lib
from genjax.data.image_data import image_data
from genjax.figures import reconstruction as figures
from genjax.models.autoencoder import ACTIVATIONS, ARCHITECTURES, OUTPUTS, Autoencoder
from genjax.objectives import reconstruction as objectives
from genjax.training.family import Family, FamilyDef, Inference, Reporting, Training

_SCATTER_EXAMPLES = 5000
_RECONSTRUCTIONS = 16


def schema() -> ml_collections.ConfigDict:
  return config_lib.with_family_schema(
      model=dict(code_size=30, hidden=(1000, 500, 250), activation='relu',
                 architecture='mlp', conv_channels=(32, 64), output='sigmoid'),
      objective=dict(loss='squared_error'),
      eval_=dict(test_examples=0,  # 0: the whole test set
                 train_examples=10000))  # training examples evaluated for the train curve


def build(config: ml_collections.ConfigDict, info) -> Family:
  m, loss = config.model, config.objective.loss
  if loss == 'bernoulli' and m.output != 'sigmoid':
    raise config_lib.ConfigError(
        "The Bernoulli loss reads the decoder's output as logits; set "
        "--config.model.output=sigmoid (or --config.objective.loss=squared_error).")
  model = Autoencoder(image_shape=info.image_shape, code_size=m.code_size,
                      hidden=tuple(m.hidden), activation=m.activation,
                      architecture=m.architecture, conv_channels=tuple(m.conv_channels),
                      output=m.output)
  train_model = model.clone(dtype=config.compute_dtype)

  def init_params(rng, batch):
    return model.init(rng, jnp.asarray(batch['image'][:1]))

  def eval_fn(params, batch, rng, context):
    del rng, context
    return objectives.autoencoder_terms(model, params, batch['image'], loss)

  def encode(params, batch, rng, context):
    """The codes [B, code_size] of a batch's images."""
    del rng, context
    return model.apply(params, jnp.asarray(batch['image']), method=Autoencoder.encode)

  def decode(params, codes, context):
    """Codes [n, code_size] -> images [n, H, W, C], clipped to [0, 1] as the data's images
    are (a linear output can leave it)."""
    del context
    return jnp.clip(model.apply(params, jnp.asarray(codes), method=Autoencoder.decode),
                    0.0, 1.0)

  if info.test_images is None:  # built without the data (genjax.load): no figures
    artifacts_fn = None
  else:
    artifacts_fn = _artifacts(model, m, info)

  return Family(
      name='autoencoder',
      signature={'model': m.to_dict(), 'objective': config.objective.to_dict(),
                 'image_shape': list(info.image_shape)},
      training=Training(init_params=init_params,
                        loss_fn=objectives.autoencoder_loss(train_model, loss)),
      reporting=Reporting(
          eval_fn=eval_fn, final_eval_fn=eval_fn,  # the final metrics hold the test error
          artifacts_fn=artifacts_fn, render_figures=figures.render_run,
          eval_examples=config.eval.test_examples,
          train_eval_examples=config.eval.train_examples),
      inference=Inference(encode=encode, decode=decode))


def _artifacts(model, m, info):
  test_images = info.test_images.images[:_SCATTER_EXAMPLES].astype(np.float32) / 255.0

  def artifacts_fn(params, rng, context):
    del rng, context
    x = jnp.asarray(test_images[:_RECONSTRUCTIONS])
    out = {'recon_inputs': x,
           'recon_means': model.apply(params, x, method=Autoencoder.reconstruct)}
    if m.code_size == 2:
      out['latent_means'] = model.apply(params, jnp.asarray(test_images),
                                        method=Autoencoder.encode)
      out['latent_labels'] = info.test_images.labels[:_SCATTER_EXAMPLES]
    return out

  return artifacts_fn


# The enums are genjax.models.autoencoder's and genjax.objectives.reconstruction's.
RANGES = {
    'model.code_size': 'positive',
    'model.hidden': 'positive_each_or_empty',  # () with output='linear': a linear AE
    'model.activation': tuple(sorted(ACTIVATIONS)),
    'model.architecture': ARCHITECTURES,
    'model.conv_channels': 'positive_each',
    'model.output': OUTPUTS,
    'objective.loss': objectives.LOSSES,
}

FAMILY = FamilyDef(name='autoencoder', schema=schema, build=build, data=image_data,
                   ranges=RANGES, compute_dtypes=config_lib.COMPUTE_DTYPES)
