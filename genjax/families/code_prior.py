"""Stage 2 of the VQ-VAE: an autoregressive prior over a trained stage 1's code grids.

The prior is one of the autoregressive image models (Gated PixelCNN by default, or the
causal Transformer, PixelCNN, LSTM) with K-way code tokens in and out; it trains through
the one loop on the codes of the stage-1 run named by config.data.stage1_workdir. The
stage-1 params are `frozen`: a jit argument of the eval step, never updated, never folded
into the program. Evaluation reports the prior's exact code NLL (nats per image, bits per
code) and the full bound -log p(x) <= -log p(x | z_q(x)) - log p_prior(z_q(x)) in bits/dim
beside the uniform prior's. Samples come from the prior's cached sampler and are decoded by
stage 1 (the decoder's mean), scored by the offline Fréchet distance beside its floor.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np

from genjax import config as config_lib
from genjax.data.arrays import padded_eval_batches
from genjax.data.codes import code_grid_stream
from genjax.families import autoregressive
from genjax.families.image_data import load_splits
from genjax.families.vqvae_codes import load_stage1, stage1_codes
from genjax.figures import autoregressive as figures
from genjax.models import pixels
from genjax.objectives import autoregressive as ar_objectives
from genjax.objectives import vqvae as vq_objectives
from genjax.samplers import autoregressive as samplers
from genjax.training.family import Data, DataInfo, Family, FamilyDef

FRECHET_BATCH = 500


def schema() -> ml_collections.ConfigDict:
  model = autoregressive.schema().model.to_dict()
  model.update(architecture='gated_pixelcnn', likelihood='codes', num_layers=8, channels=64)
  return config_lib.with_family_schema(
      model=model,
      data=dict(stage1_workdir=''),  # a finished VQ-VAE run (experiments/vqvae.py)
      eval_=dict(
          test_examples=0,  # 0: the whole test set
          num_samples=64,  # decoded prior samples in the figure
          samples_per_class=10,  # conditional priors: a class grid
          frechet_samples=1000,  # samples scored against the test set; 0: none
          classifier='',  # the Fréchet feature space: a classifier workdir or export
          sampler='fast'))  # 'fast' | 'naive' (full network per code; reference)


def code_prior_data(config: ml_collections.ConfigDict, process_index: int = 0,
                    process_count: int = 1) -> Data:
  """The stage-1 run's training codes as the stream; its test codes with their images and
  labels as the 'test' split (the bound needs the images)."""
  stage1 = load_stage1(config.data.stage1_workdir)
  grids, images = stage1_codes(stage1)
  train = code_grid_stream(grids['train'], global_batch_size=config.batch_size,
                           seed=config.seed, process_index=process_index,
                           process_count=process_count)
  test = {'codes': grids['test'].codes, 'label': grids['test'].labels,
          'image': images['test']}

  def split(global_batch_size, process_index, process_count, max_examples):
    return padded_eval_batches(test, global_batch_size=global_batch_size,
                               process_index=process_index, process_count=process_count,
                               max_examples=max_examples)

  labels = grids['train'].labels
  info = DataInfo(num_train=train.num_examples,
                  num_classes=int(labels.max()) + 1 if labels is not None else 0,
                  example_shape=stage1.code_shape, test=images['test'],
                  vocab_size=stage1.num_codes)
  return Data(info=info, train=train, splits={'test': split},
              description=f'codes {grids["train"].codes.shape} (K={stage1.num_codes}) of '
                          f'the stage-1 run {stage1.run.workdir} at step {stage1.run.step}')


def check_config(config: ml_collections.ConfigDict) -> None:
  if config.model.likelihood != 'codes':
    raise config_lib.ConfigError("A prior over codes has K-way code tokens; set "
                                 "--config.model.likelihood=codes.")
  check_frechet(config.eval)


def check_frechet(e: ml_collections.ConfigDict) -> None:
  """A prior over a stage 1's codes scores its samples only with a classifier named."""
  if e.frechet_samples and not e.classifier:
    raise config_lib.ConfigError(
        'The Fréchet distance needs a classifier run; pass --config.eval.classifier='
        '<workdir> (train one with experiments/classifier.py), or set '
        '--config.eval.frechet_samples=0.')


def bound_terms(decoder, frozen, batch, prior_nll: jax.Array) -> dict[str, jax.Array]:
  """Per-image test terms of a prior over a stage 1's codes: its code NLL (nats, bits per
  code) and the bound -log p(x) <= -log p(x | z_q(x)) - log p_prior(z_q(x)) in bits/dim,
  beside the uniform prior's."""
  x01 = batch['image'].astype(jnp.float32) / 255.0
  mean, log_scale = decoder.decode_codes(frozen['params'], frozen['model_state'],
                                         batch['codes'])
  recon = vq_objectives.reconstruction_nll(decoder.likelihood, x01, mean, log_scale)
  dims = math.prod(x01.shape[1:])
  positions = math.prod(batch['codes'].shape[1:])
  uniform = vq_objectives.uniform_code_nats(positions, decoder.num_codes)
  return {'prior_nll': prior_nll,
          'prior_bits_per_code': prior_nll / (positions * math.log(2.0)),
          'recon_nll': recon,
          'bound_bits_per_dim': vq_objectives.bits_per_dim(recon + prior_nll, dims),
          'bound_bits_per_dim_uniform_prior': vq_objectives.bits_per_dim(recon + uniform,
                                                                         dims)}


def frechet_reference(e, info: DataInfo, stage1, seed: int):
  """(scorer against the test images, the floor's training images), or (None, None) when
  eval.frechet_samples is 0: the Fréchet distance of decoded samples and its floor."""
  if not e.frechet_samples:
    return None, None
  from genjax.evals import classifier_features  # pylint: disable=g-import-not-at-top
  from genjax.metrics.frechet import FrechetScorer  # pylint: disable=g-import-not-at-top
  scorer = FrechetScorer(classifier_features.load_feature_fn(e.classifier),
                         info.test.astype(np.float32) / 255.0)
  train, _ = load_splits(stage1.run.config.data)
  pick = np.random.default_rng(seed).choice(len(train.images), e.frechet_samples,
                                            replace=False)
  return scorer, train.images[pick].astype(np.float32) / 255.0


def frechet_of(scorer, draw_batch, num: int) -> float:
  """The Fréchet distance of `num` samples drawn FRECHET_BATCH at a time by
  draw_batch(batch_index, first_sample_index, batch_size) -> images [b, H, W, C]."""
  starts = range(0, num, FRECHET_BATCH)
  return scorer(np.concatenate([np.asarray(draw_batch(i, start, min(FRECHET_BATCH, num - start)))
                                for i, start in enumerate(starts)]))


def build(config: ml_collections.ConfigDict, info: DataInfo) -> Family:
  m, e = config.model, config.eval
  check_config(config)
  stage1 = load_stage1(config.data.stage1_workdir)
  k = stage1.num_codes
  num_classes = info.num_classes if m.conditional else 0
  grid_shape = tuple(info.example_shape) + (1,)
  model = autoregressive.make_model(m, grid_shape, num_classes, num_codes=k)
  labels = (lambda batch: batch['label']) if m.conditional else (lambda batch: None)
  decoder = stage1.objective
  naive = e.sampler == 'naive'

  def as_model_batch(batch):
    return {'image': pixels.canvas_from_codes(batch['codes'], k), 'label': batch['label']}

  prior_loss = ar_objectives.nll_loss(model, m.conditional)

  def init_params(rng, batch):
    y = jnp.asarray(batch['label'][:1]) if m.conditional else None
    return model.init(rng, pixels.canvas_from_codes(jnp.asarray(batch['codes'][:1]), k), y)

  def loss_fn(params, model_state, batch, rng, frozen):
    del frozen
    loss, aux = prior_loss(params, as_model_batch(batch), rng)
    return loss, (aux, model_state)

  def eval_fn(params, model_state, batch, rng, frozen):
    del model_state, rng
    prior = ar_objectives.nll_terms(model, params, as_model_batch(batch)['image'],
                                    labels(batch))
    return bound_terms(decoder, frozen, batch, prior['nll'])

  scorer, floor_images = frechet_reference(e, info, stage1, config.seed)

  decode = jax.jit(lambda frozen, codes: vq_objectives.decoder_mean01(
      decoder.likelihood, decoder.decode_codes(frozen['params'], frozen['model_state'],
                                               codes)[0]))

  def draw(params, frozen, rng, num, y):
    canvas, logps = samplers.sample(model, params, rng, grid_shape, num, y, naive=naive)
    return np.asarray(decode(frozen, pixels.codes_from_canvas(canvas, k))), logps

  def artifacts_fn(params, model_state, rng, frozen):
    del model_state
    rngs = jax.random.split(rng, 3)
    out = {}
    if m.conditional:
      y = jnp.repeat(jnp.arange(info.num_classes), e.samples_per_class)
      out['class_grid'], logps = draw(params, frozen, rngs[0], len(y), y)
      out['class_grid_labels'] = np.asarray(y)
    else:
      out['samples'], logps = draw(params, frozen, rngs[0], e.num_samples, None)
    out['sample_nll'] = -np.asarray(logps).sum(axis=1)
    if scorer is not None:

      def draw_batch(i, start, b):
        y = (jnp.arange(start, start + b) % info.num_classes) if m.conditional else None
        return draw(params, frozen, jax.random.fold_in(rngs[1], i), b, y)[0]

      out['frechet_distance'] = np.float64(frechet_of(scorer, draw_batch, e.frechet_samples))
      out['frechet_floor'] = np.float64(scorer(floor_images))  # train images, same count
      out['frechet_samples'] = np.int64(e.frechet_samples)
    return out

  return Family(
      name='code_prior',
      signature={'model': m.to_dict(), 'code_shape': list(info.example_shape),
                 'num_codes': k},
      init_params=init_params,
      loss_fn=loss_fn,
      eval_fn=eval_fn,
      artifacts_fn=artifacts_fn,
      render_figures=figures.render_run,
      eval_examples=e.test_examples,
      frozen=stage1.frozen,
      upstream=stage1.run.record(),
  )


RANGES = {key: rule for key, rule in autoregressive.RANGES.items()
          if key.startswith('model.') and key != 'model.likelihood'}
RANGES.update({
    'model.likelihood': ('codes',),
    'eval.num_samples': 'positive',
    'eval.samples_per_class': 'positive',
    'eval.frechet_samples': 'non_negative',
    'eval.sampler': ('fast', 'naive'),
})

FAMILY = FamilyDef(name='code_prior', schema=schema, build=build, data=code_prior_data,
                   ranges=RANGES)
