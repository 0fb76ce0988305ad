"""What the priors over a stage-1 VQ-VAE's codes share (the raster code prior and VAR):
their data, their per-image test terms and the Fréchet distance of their decoded samples.

`code_prior_data` streams the stage-1 run's training codes and gives its test codes with
their images and labels as the 'test' split; `bound_terms` gives a prior's code NLL and the
bound -log p(x) <= -log p(x | z_q(x)) - log p_prior(z_q(x)) in bits/dim beside the uniform
prior's (`bound_nats`: the bound in nats, what a trained prior scores); `frechet_reference`
and `frechet_of` score decoded samples against the test images
(`genjax.evals.frechet_setup`) beside the floor of as many training images.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np

from genjax.data.arrays import padded_eval_batches
from genjax.data.codes import code_grid_stream
from genjax.data.family_data import Data, DataInfo
from genjax.evals import frechet_setup
from genjax.objectives import vqvae as vq_objectives
from genjax.stage2.first_stage import Stage1, check_stage1_data, load_stage1, stage1_codes

FRECHET_BATCH = 500


def code_prior_data(config: ml_collections.ConfigDict, process_index: int = 0,
                    process_count: int = 1) -> Data:
  """The stage-1 run's training codes as the stream; its test codes with their images and
  labels as the 'test' split (the bound needs the images)."""
  stage1 = load_stage1(config.data.stage1_workdir)
  check_stage1_data(config.data, stage1)
  grids, images = stage1_codes(stage1)
  train = code_grid_stream(grids['train'], global_batch_size=config.batch_size,
                           seed=config.seed, process_index=process_index,
                           process_count=process_count)
  test = {'codes': grids['test'].codes, 'label': grids['test'].labels,
          'image': images['test'].images}

  def split(global_batch_size, process_index, process_count, max_examples):
    return padded_eval_batches(test, global_batch_size=global_batch_size,
                               process_index=process_index, process_count=process_count,
                               max_examples=max_examples)

  labels = grids['train'].labels
  info = DataInfo(num_train=train.num_examples,
                  num_classes=int(labels.max()) + 1 if labels is not None else 0,
                  example_shape=stage1.code_shape, test_images=images['test'],
                  vocab_size=stage1.num_codes)
  return Data(info=info, train=train, splits={'test': split},
              description=f'codes {grids["train"].codes.shape} (K={stage1.num_codes}) of '
                          f'the stage-1 run {stage1.run.workdir} at step {stage1.run.step}')


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


def with_codes(decoder, frozen, batch) -> dict:
  """`batch` with its images' codes z_q(x) under 'codes', encoded by the frozen stage 1
  when it has none (a batch of uint8 images alone); the eval split's batches have them."""
  if 'codes' in batch:
    return batch
  x01 = jnp.asarray(batch['image']).astype(jnp.float32) / 255.0
  return {**batch, 'codes': decoder.codes(frozen['params'], frozen['model_state'], x01)}


def bound_nats(decoder, frozen, batch, prior_nll: jax.Array) -> jax.Array:
  """The bound -log p(x | z_q(x)) - log p_prior(z_q(x)) [B] in nats: `bound_terms`'
  bound_bits_per_dim times the image's dimensions and ln 2."""
  terms = bound_terms(decoder, frozen, batch, prior_nll)
  return terms['recon_nll'] + terms['prior_nll']


def frechet_reference(e: ml_collections.ConfigDict, info: DataInfo, stage1: Stage1,
                      seed: int):
  """(scorer against the test images, the floor's training images), or (None, None) when
  eval.frechet_samples is 0 or the info has no test images (built without the data, for
  `genjax.load`): the Fréchet distance of decoded samples and its floor."""
  if info.test_images is None:
    return None, None
  frechet = frechet_setup.setup(e, info.test_images.images)
  if frechet is None:
    return None, None
  return frechet.scorer, frechet_setup.floor_images(stage1.run.config.data,
                                                    e.frechet_samples, seed)


def frechet_of(scorer, draw_batch, num: int) -> float:
  """The Fréchet distance of `num` samples drawn FRECHET_BATCH at a time by
  draw_batch(batch_index, first_sample_index, batch_size) -> images [b, H, W, C]."""
  starts = range(0, num, FRECHET_BATCH)
  return scorer(np.concatenate([np.asarray(draw_batch(i, start, min(FRECHET_BATCH, num - start)))
                                for i, start in enumerate(starts)]))
