"""The VAE family: model, objective and samplers handed to the one training loop."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np

from genjax import config as config_lib
from genjax.data.image_data import image_data
from genjax.figures import vae as vae_figures
from genjax.models.vae import VAE, make_model
from genjax.objectives import vae as objectives
from genjax.samplers import vae as samplers
from genjax.training.family import (Family, FamilyDef, Inference, Likelihood, Reporting,
                                    Training)

_SCATTER_EXAMPLES = 5000


def schema() -> ml_collections.ConfigDict:
  return config_lib.with_family_schema(
      model=dict(latent_dim=20, hidden=(500,), activation='relu', architecture='mlp',
                 conv_channels=(32, 64), likelihood='bernoulli', conditional=False),
      objective=dict(
          name='elbo',  # 'elbo', or 'iwae': train on the importance-weighted bound
          iwae_k=5),  # the IWAE's samples per example when name='iwae'
      eval_=dict(
          iwae_k=0,  # IWAE samples at each periodic evaluation; 0: ELBO only (cheap)
          final_iwae_k=500,  # IWAE samples for the final test log-likelihood estimate
          test_examples=0,  # 0: the whole test set
          train_examples=10000,  # training examples evaluated for the train curve
          num_samples=100,  # prior samples drawn for figures
          manifold_grid=20))


def build(config: ml_collections.ConfigDict, info) -> Family:
  m, e = config.model, config.eval
  if m.likelihood == 'gaussian' and config.data.binarize != 'none':
    raise config_lib.ConfigError('A Gaussian decoder models real-valued pixels; set '
                     "--config.data.binarize=none (or use likelihood='bernoulli').")
  model = make_model(m, info.image_shape, info.num_classes)
  # Training computes in compute_dtype; evaluation and figures in float32 (same params).
  train_model = make_model(m, info.image_shape, info.num_classes, config.compute_dtype)
  labels = (lambda batch: batch['label']) if m.conditional else (lambda batch: None)

  def init_params(rng, batch):
    y = jnp.asarray(batch['label'][:1]) if m.conditional else None
    return model.init(rng, jnp.asarray(batch['image'][:1]), y)

  def eval_with(k: int):
    def eval_fn(params, batch, rng, context):
      del context
      x, y = batch['image'], labels(batch)
      terms = objectives.elbo_terms(model, params, x, y, rng)
      if k:
        terms[f'iwae_{k}'] = objectives.iwae_bound(model, params, x, y,
                                                   jax.random.fold_in(rng, 1), k)
      return terms
    return eval_fn

  def sample(params, rng, num_samples, context, label=None):
    """Decoder means at z ~ N(0, I), [n, H, W, C] in [0, 1]; a conditional model's
    labels are `label` (one, or one per sample), or cycle through the classes."""
    del context
    y = None
    if m.conditional:
      y = (jnp.arange(num_samples) % info.num_classes if label is None
           else jnp.broadcast_to(jnp.asarray(label, jnp.int32), (num_samples,)))
    return samplers.sample_prior(model, params, rng, num_samples, y)

  def nll(params, batch, rng, context, k):
    """-log p(x) bounded by the IWAE with k samples (k = 1: the ELBO)."""
    del context
    return -objectives.iwae_bound(model, params, batch['image'], labels(batch), rng, k)

  def encode(params, batch, rng, context):
    """The posterior q(z | x): its mean and standard deviation, [B, latent_dim] each."""
    del rng, context
    q = model.apply(params, jnp.asarray(batch['image']), labels(batch), method=VAE.encode)
    return {'mean': q.mean, 'std': q.scale}

  def decode(params, z, context, label=None):
    del context
    y = None if label is None else jnp.broadcast_to(jnp.asarray(label), (len(z),))
    return samplers.decoder_mean(model.apply(params, jnp.asarray(z), y, method=VAE.decode))

  inference = Inference(
      sample=sample, sample_options={'label': None} if m.conditional else {},
      likelihood=Likelihood(nll=nll, exact=False, dims=int(np.prod(info.image_shape)),
                            options={'k': max(e.final_iwae_k, 1)},
                            description='IWAE bound with k importance samples (k = 1: '
                            'the ELBO)'),
      encode=encode, decode=decode)
  if info.test_images is None:  # built without the data (genjax.load): no figures
    artifacts_fn = None
  else:
    test_images = info.test_images.images[:_SCATTER_EXAMPLES].astype(np.float32) / 255.0
    test_labels = info.test_images.labels[:_SCATTER_EXAMPLES]
    artifacts_fn = _artifacts(model, m, e, info, test_images, test_labels)

  return Family(
      name='vae',
      signature={'model': m.to_dict(), 'image_shape': list(info.image_shape)},
      training=Training(
          init_params=init_params,
          loss_fn=objectives.training_loss(train_model, m.conditional, config.objective.name,
                                           config.objective.iwae_k)),
      reporting=Reporting(
          eval_fn=eval_with(e.iwae_k),
          final_eval_fn=eval_with(e.final_iwae_k),
          artifacts_fn=artifacts_fn,
          render_figures=vae_figures.render_run,
          eval_examples=e.test_examples,
          train_eval_examples=e.train_examples),
      inference=inference,
  )


def _artifacts(model, m, e, info, test_images, test_labels):
  """The figures' arrays: samples (by class when conditional), reconstructions and
  interpolations of test images, and the latent scatter and manifold of a 2-D latent."""

  def artifacts_fn(params, rng, context):
    del context
    out = {}
    if m.conditional:
      y = jnp.repeat(jnp.arange(info.num_classes), 10)
      out['class_grid'] = samplers.sample_prior(model, params, rng, len(y), y)
      out['class_grid_labels'] = y
    else:
      out['samples'] = samplers.sample_prior(model, params, rng, e.num_samples)
    y = jnp.asarray(test_labels) if m.conditional else None
    q = model.apply(params, jnp.asarray(test_images), y, method=VAE.encode)
    out['recon_inputs'] = test_images[:16]
    out['recon_means'] = samplers.decoder_mean(
        model.apply(params, q.mean[:16], None if y is None else y[:16], method=VAE.decode))
    out['interpolation'] = jnp.stack([
        samplers.interpolate(model, params, test_images[2 * i], test_images[2 * i + 1], 10,
                             None if y is None else y[2 * i])
        for i in range(4)])
    if m.latent_dim == 2:
      out['latent_means'] = q.mean
      out['latent_labels'] = test_labels
      if not m.conditional:
        out['manifold'] = samplers.latent_manifold(model, params, e.manifold_grid)
    return out

  return artifacts_fn


# The enums are genjax.models.vae's ACTIVATIONS, ARCHITECTURES and LIKELIHOODS
# (tests/families/test_ranges.py keeps them equal).
RANGES = {
    'model.latent_dim': 'positive',
    'model.hidden': 'positive_each_or_empty',  # () is a linear encoder and decoder
    'model.activation': ('elu', 'gelu', 'relu', 'softplus', 'tanh'),
    'model.architecture': ('mlp', 'conv'),
    'model.conv_channels': 'positive_each',
    'model.likelihood': ('bernoulli', 'gaussian'),
    'objective.name': ('elbo', 'iwae'),
    'objective.iwae_k': 'positive',
    'eval.iwae_k': 'non_negative',
    'eval.final_iwae_k': 'non_negative',
    'eval.num_samples': 'positive',
    'eval.manifold_grid': 'positive',
}

FAMILY = FamilyDef(name='vae', schema=schema, build=build, data=image_data, ranges=RANGES,
                   compute_dtypes=config_lib.COMPUTE_DTYPES)
