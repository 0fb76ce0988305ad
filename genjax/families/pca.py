"""PCA as a one-step family: its update fits the whole training set in closed form.

The batch is the whole training set (`batch_size` = the number of training images), the
update writes the SVD's components into params and reports convergence, so the loop stops
after that step whatever the duration. No optimiser is built.

What a trained PCA offers (`genjax.load`): `encode` (images -> their k scores) and `decode`
(scores -> images). It fits the principal subspace alone, with no noise variance (not
probabilistic PCA), so it defines no density: no likelihood and no sampler, and its
evaluation reports reconstruction errors, not a log-likelihood.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np

from genjax import config as config_lib
from genjax.data.image_data import image_data
from genjax.figures import reconstruction as figures
from genjax.models import pca
from genjax.objectives.reconstruction import reconstruction_errors
from genjax.training.family import Family, FamilyDef, Inference, Reporting, Training

_SCATTER_EXAMPLES = 5000
_RECONSTRUCTIONS = 16


def schema() -> ml_collections.ConfigDict:
  return config_lib.with_family_schema(
      model=dict(n_components=30),
      eval_=dict(test_examples=0))  # 0: the whole test set


def flatten(images: jax.Array) -> jax.Array:
  return images.reshape(images.shape[0], -1)


def build(config: ml_collections.ConfigDict, info) -> Family:
  k, dim, n = config.model.n_components, math.prod(info.image_shape), info.num_train
  if config.batch_size != n:
    raise config_lib.ConfigError(
        f'PCA fits the whole training set in one step, so batch_size must be its {n} '
        f'examples, not {config.batch_size}; set --config.batch_size={n}.')
  if k > min(n, dim):
    raise config_lib.ConfigError(
        f'model.n_components={k} exceeds min(examples, pixels) = {min(n, dim)}; set '
        f'--config.model.n_components={min(n, dim)} (or fewer).')
  unshape = lambda x: x.reshape((-1,) + tuple(info.image_shape))

  def init_params(rng, batch):
    del rng
    shapes = jax.eval_shape(lambda x: pca.fit(flatten(x), k), batch['image'])
    return jax.tree.map(lambda s: jnp.zeros(s.shape, s.dtype), shapes)

  def errors(params, batch):
    x = flatten(batch['image'])
    return reconstruction_errors(x, pca.reconstruct(params, x))

  def update_fn(state, batch, rng, frozen):
    del rng, frozen
    params = pca.fit(flatten(batch['image']), k)
    return state.replace(params=params), {
        'loss': jnp.mean(errors(params, batch)['squared_error']),  # per training image
        'explained_variance_ratio': jnp.sum(params['explained_variance_ratio']),
        'converged': jnp.bool_(True)}

  def eval_fn(params, batch, rng, context):
    del rng, context
    return errors(params, batch)

  def encode(params, batch, rng, context):
    """The scores [B, k] of a batch's images on the components."""
    del rng, context
    return pca.encode(params, flatten(jnp.asarray(batch['image'])))

  def decode(params, codes, context):
    """Scores [n, k] back to images [n, H, W, C], clipped to [0, 1] as the data's images
    are (an unclipped reconstruction is what eval's errors measure)."""
    del context
    return jnp.clip(unshape(pca.decode(params, jnp.asarray(codes))), 0.0, 1.0)

  if info.test_images is None:  # built without the data (genjax.load): no figures
    artifacts_fn = None
  else:
    artifacts_fn = _artifacts(info, k, unshape)

  return Family(
      name='pca',
      signature={'model': config.model.to_dict(), 'image_shape': list(info.image_shape)},
      training=Training(init_params=init_params, update_fn=update_fn,
                        make_optimizer=lambda: None),
      reporting=Reporting(
          eval_fn=eval_fn, final_eval_fn=eval_fn,  # the final metrics hold the test error
          artifacts_fn=artifacts_fn, render_figures=figures.render_run,
          eval_examples=config.eval.test_examples),
      inference=Inference(encode=encode, decode=decode))


def _artifacts(info, k, unshape):
  test_images = info.test_images.images[:_SCATTER_EXAMPLES].astype(np.float32) / 255.0

  def artifacts_fn(params, rng, context):
    del rng, context
    codes = pca.encode(params, flatten(test_images))
    out = {'explained_variance': params['explained_variance'],
           'explained_variance_ratio': params['explained_variance_ratio'],
           'explained_variance_ratio_total': np.sum(params['explained_variance_ratio']),
           'components': unshape(params['components'][:_RECONSTRUCTIONS]),
           'recon_inputs': test_images[:_RECONSTRUCTIONS],
           'recon_means': unshape(pca.decode(params, codes[:_RECONSTRUCTIONS]))}
    if k >= 2:  # the first two scores, as every 2-D code is drawn
      out['latent_means'] = codes[:, :2]
      out['latent_labels'] = info.test_images.labels[:_SCATTER_EXAMPLES]
    return out

  return artifacts_fn


RANGES = {'model.n_components': 'positive'}

FAMILY = FamilyDef(name='pca', schema=schema, build=build, data=image_data, ranges=RANGES)
