"""Autoregressive image models with exact likelihood, handed to the one training loop.

config.model.architecture picks the network: 'pixelcnn' (masked convolutions),
'gated_pixelcnn' (vertical and horizontal gated stacks), 'transformer' (causal
self-attention over the raster sequence) or 'lstm'. All share the heads (Bernoulli for
binarised pixels, 256-way softmax for 8-bit ones), the objective (exact NLL, reported in
nats per image and bits/dim) and the samplers (jit + lax.scan over positions). A trained
model (`genjax.load`) samples with a temperature and top-k filtering where its head has a
softmax to reshape, and a label when it is class-conditional, and scores -log p(x) exactly.

Training computes in config.compute_dtype (every architecture takes 'bfloat16': its layers'
products in bfloat16, its logits and the NLL in float32); evaluation and sampling in
float32, with the same params.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np

from genjax import config as config_lib
from genjax.data.pipeline import binarize_static
from genjax.data.image_data import image_data
from genjax.figures import autoregressive as figures
from genjax.models import pixels
from genjax.models.autoregressive import ARCHITECTURES, make_model
from genjax.models.remat import REMAT
from genjax.objectives import autoregressive as objectives
from genjax.samplers import autoregressive as samplers
from genjax.training.family import (Family, FamilyDef, Inference, Likelihood, Reporting,
                                    Training)


def schema() -> ml_collections.ConfigDict:
  return config_lib.with_family_schema(
      model=dict(
          architecture='pixelcnn',  # one of ARCHITECTURES
          # 'bernoulli' (binarised data) | 'categorical' (256-way) | 'logistic_mixture'
          # (8-bit, PixelCNN++; conv models); 'codes' (K-way VQ-VAE codes, make_model's
          # num_codes) is for priors over codes, not for images.
          likelihood='bernoulli',
          num_mixtures=10,  # logistic components (Salimans et al., 2017, use 10)
          conditional=False,  # p(x | y) through a label embedding
          num_layers=7,  # residual blocks / gated layers / Transformer blocks / LSTM layers
          channels=64,  # conv models: h (PixelCNN blocks carry 2h)
          first_kernel=7,
          kernel=3,
          output_hidden=64,
          dim=128,  # Transformer width
          num_heads=4,
          mlp_ratio=4,
          positions='learned',  # 'learned' | 'sinusoidal'
          remat='none',  # Transformer blocks recomputed in the backward pass: REMAT
          hidden=256,  # LSTM state size
          embed_dim=32),  # LSTM token embedding
      eval_=dict(
          test_examples=0,  # 0: the whole test set
          train_examples=10000,  # training examples evaluated for the train curve
          num_samples=64,  # unconditional samples drawn for figures
          samples_per_class=10,  # conditional models: a class grid
          num_completions=10,  # test images completed from their top half
          sampler='fast'))  # 'fast' | 'naive' (full network per pixel; reference)


def check_data(config: ml_collections.ConfigDict) -> None:
  if config.model.likelihood == 'codes':
    raise config_lib.ConfigError("likelihood='codes' models a grid of VQ-VAE codes, not "
                                 'images; use the code-prior family for it (or '
                                 '--config.model.likelihood=bernoulli|categorical here).')
  binary = config.data.binarize != 'none'
  if config.model.likelihood == 'bernoulli' and not binary:
    raise config_lib.ConfigError("A Bernoulli head models binary pixels; set --config.data.binarize="
                     "dynamic (or use --config.model.likelihood=categorical).")
  if config.model.likelihood == 'categorical' and binary:
    raise config_lib.ConfigError('The 256-way softmax models 8-bit pixels; set '
                     '--config.data.binarize=none (or use likelihood=bernoulli).')
  if config.model.likelihood == pixels.MIXTURE:
    if binary:
      raise config_lib.ConfigError('The logistic mixture models 8-bit pixels; set '
                                   '--config.data.binarize=none (or use likelihood=bernoulli).')
    if config.model.architecture not in ('pixelcnn', 'gated_pixelcnn'):
      raise config_lib.ConfigError(
          f'The logistic mixture predicts whole pixels, which the '
          f'{config.model.architecture} (a sequence of sub-pixels) does not; use '
          '--config.model.architecture=pixelcnn or gated_pixelcnn, or likelihood=categorical.')
  if config.eval.sampler not in ('fast', 'naive'):
    raise config_lib.ConfigError(f"eval.sampler must be 'fast' or 'naive', got {config.eval.sampler!r}.")


def model_signature(m: ml_collections.ConfigDict) -> dict:
  """The model section a checkpoint is marked with; num_mixtures only where it is used, so
  that runs saved before the mixture existed still resume. Without remat, which computes
  the same function: a run may resume under another."""
  signature = m.to_dict()
  signature.pop('remat', None)
  if m.likelihood != pixels.MIXTURE:
    signature.pop('num_mixtures', None)
  return signature


def build(config: ml_collections.ConfigDict, info) -> Family:
  m, e = config.model, config.eval
  check_data(config)
  num_classes = info.num_classes if m.conditional else 0
  model = make_model(m, info.image_shape, num_classes)
  # Runs saved before remat existed lack it (genjax.load builds from their config).
  train_model = make_model(m, info.image_shape, num_classes, dtype=config.compute_dtype,
                           remat=m.get('remat', 'none'))
  labels = (lambda batch: batch['label']) if m.conditional else (lambda batch: None)
  naive = e.sampler == 'naive'
  image_shape = tuple(info.image_shape)

  def init_params(rng, batch):
    y = jnp.asarray(batch['label'][:1]) if m.conditional else None
    return model.init(rng, jnp.asarray(batch['image'][:1]), y)

  def eval_fn(params, batch, rng, context):
    del rng, context
    return objectives.nll_terms(model, params, batch['image'], labels(batch))

  def nll(params, batch, rng, context):
    """-log p(x) of the pixel values, exactly (the eval's nll: bits/dim over H * W * C)."""
    del rng, context
    return objectives.nll_terms(model, params, batch['image'], labels(batch))['nll']

  def sample(params, rng, num_samples, context, label=None, temperature=1.0, top_k=0):
    """Images drawn pixel by pixel (sub-pixel by sub-pixel in colour), [n, H, W, C]; a
    conditional model's labels are `label` (one, or one per sample), or cycle through the
    classes. `temperature` divides the logits and `top_k` > 0 draws from the k most
    probable values only (`sample_options`: which of them a head takes)."""
    del context
    y = None
    if m.conditional:
      y = (jnp.arange(num_samples) % info.num_classes if label is None
           else jnp.broadcast_to(jnp.asarray(label, jnp.int32), (num_samples,)))
    return samplers.sample(model, params, rng, image_shape, num_samples, y, naive=naive,
                           temperature=float(temperature), top_k=int(top_k))[0]

  inference = Inference(
      sample=sample, sample_options=sample_options(m),
      likelihood=Likelihood(nll=nll, exact=True, dims=int(np.prod(image_shape)),
                            description='exact -log p(x) of the discrete pixel values, by '
                            'the chain rule' + (', given the label' if m.conditional else '')))
  if info.test_images is None:  # built without the data (genjax.load): no figures
    artifacts_fn = None
  else:
    artifacts_fn = _artifacts(model, m, e, info, config.seed, naive)

  return Family(
      name='autoregressive',
      signature={'model': model_signature(m), 'image_shape': list(image_shape)},
      training=Training(init_params=init_params,
                        loss_fn=objectives.nll_loss(train_model, m.conditional)),
      reporting=Reporting(eval_fn=eval_fn, artifacts_fn=artifacts_fn,
                          render_figures=figures.render_run,
                          eval_examples=e.test_examples,
                          train_eval_examples=e.train_examples),
      inference=inference,
  )


def sample_options(m: ml_collections.ConfigDict) -> dict:
  """The options `sample` honours, at the defaults that draw as the figures do: label for
  a conditional model; temperature for a softmax or Bernoulli head; top_k for a softmax
  over several values (the logistic mixture is drawn from as it is)."""
  options = {'label': None} if m.conditional else {}
  if m.likelihood != pixels.MIXTURE:
    options['temperature'] = 1.0
    if m.likelihood != 'bernoulli':
      options['top_k'] = 0
  return options


def _artifacts(model, m, e, info, seed, naive):
  """The figures' arrays: samples (a class grid when conditional) with their NLL, and test
  images completed from their top half."""
  image_shape = tuple(info.image_shape)
  test_images = info.test_images.images[:e.num_completions].astype(np.float32) / 255.0
  if m.likelihood == 'bernoulli':
    test_images = binarize_static(test_images, seed)
  test_labels = info.test_images.labels[:e.num_completions]
  given_rows = image_shape[0] // 2

  def artifacts_fn(params, rng, context):
    del context
    out = {}
    rng, *completion_rngs = jax.random.split(rng, 4)
    if m.conditional:
      y = jnp.repeat(jnp.arange(info.num_classes), e.samples_per_class)
      out['class_grid'], logps = samplers.sample(model, params, rng, image_shape, len(y), y,
                                                 naive=naive)
      out['class_grid_labels'] = y
    else:
      out['samples'], logps = samplers.sample(model, params, rng, image_shape, e.num_samples,
                                              naive=naive)
    out['sample_nll'] = -logps.sum(axis=1)
    if e.num_completions:
      y = jnp.asarray(test_labels) if m.conditional else None
      draws = [samplers.complete(model, params, rng_i, jnp.asarray(test_images), given_rows,
                                 y, naive=naive)[0]
               for rng_i in completion_rngs]
      out['completion_inputs'] = test_images
      out['completions'] = jnp.stack(draws)
      out['completion_rows'] = np.int32(given_rows)
    return out

  return artifacts_fn


RANGES = {
    'model.architecture': ARCHITECTURES,
    'model.likelihood': pixels.LIKELIHOODS,  # 'codes' is refused by check_data here
    'model.num_layers': 'positive',
    'model.channels': 'positive',
    'model.first_kernel': 'positive',
    'model.kernel': 'positive',
    'model.output_hidden': 'positive',
    'model.dim': 'positive',
    'model.num_heads': 'positive',
    'model.mlp_ratio': 'positive',
    'model.positions': ('learned', 'sinusoidal'),
    'model.remat': REMAT,
    'model.hidden': 'positive',
    'model.embed_dim': 'positive',
    'model.num_mixtures': 'positive',
    'eval.num_samples': 'positive',
    'eval.samples_per_class': 'positive',
    'eval.num_completions': 'non_negative',
    'eval.sampler': ('fast', 'naive'),
}

FAMILY = FamilyDef(name='autoregressive', schema=schema, build=build, data=image_data,
                   ranges=RANGES, compute_dtypes=config_lib.COMPUTE_DTYPES)
