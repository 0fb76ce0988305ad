"""Stage 1 of the VQ-VAE: encoder, codebook and decoder, handed to the one training loop.

The EMA codebook (the default; van den Oord et al. 2017, appendix A.1) is the run's model
state: checkpointed and resumed with it, read back by a stage-2 prior through
`genjax.training.restore.load_run`. With objective.codebook='loss' the codebook is a
parameter moved by the codebook loss. Every evaluation logs codebook health (test-set
perplexity and the fraction of codes used) beside the test bound in bits/dim under the
uniform prior; the figures show reconstructions and the usage histogram. With
model.scales the stage 1 is VAR's multi-scale residual tokenizer (one codebook, phi_k per
scale), and its figures add the decoding of f_hat after each scale, coarse to fine. With
model.code_groups G > 1 each latent position holds G codes (van den Oord et al.'s 8x8x10 on
CIFAR-10), read everywhere as one [h, w * G] code grid (`genjax.models.vqvae`). A trained
stage 1 (`genjax.load`) encodes images to their code grids and decodes code grids to images,
and bounds -log p(x) under the uniform prior over its codes (not with model.likelihood='mse',
which is no likelihood); its samples are decodings of uniform codes, the model that bound
scores (a learned prior over the codes is the code_prior or var family). Training computes
the encoder and decoder in config.compute_dtype; the quantizer (distances to the codebook,
the EMA codebook), the losses, evaluation and the codes a prior reads are float32.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np

from genjax import config as config_lib
from genjax.data.image_data import image_data
from genjax.figures import vqvae as figures
from genjax.models import multiscale_quantizer as multiscale
from genjax.models import quantizer
from genjax.objectives import vqvae as objectives
from genjax.objectives.vqvae import encoder, make_objective
from genjax.training.family import (Family, FamilyDef, Inference, Likelihood, Reporting,
                                    Training, model_signature)


def schema() -> ml_collections.ConfigDict:
  return config_lib.with_family_schema(
      model=dict(
          channels=128,  # the paper's 256 on CIFAR-10; sonnet's notebook uses 128
          res_hidden=32,
          num_res_blocks=2,
          downsamples=2,  # stride-2 layers: 28x28 -> 7x7 codes; 1 gives 14x14
          code_dim=64,  # D
          code_groups=1,  # codes per position (CIFAR-10's 8x8x10: 10); grid [h, w * G]
          scales=(),  # () one code map; VAR's tokenizer: e.g. (1, 2, 3, 4, 5, 7) for 7x7
          num_codes=512,  # K
          likelihood='discretized_logistic'),  # | 'discretized_gaussian' | 'mse' (no bound)
      objective=dict(
          codebook='ema',  # 'ema' (model state, decay below) | 'loss' (a parameter)
          beta=0.25,  # commitment weight
          ema_decay=0.99,
          dead_code_threshold=1.0,  # EMA count below which a code restarts; 0: never
          kmeans_init=True),  # codebook from k-means on the first batch's encoder outputs
      eval_=dict(
          test_examples=0,  # 0: the whole test set
          usage_examples=10000,  # test images whose codes make the usage histogram
          num_reconstructions=16,
          num_uniform_samples=64))


def check_config(config: ml_collections.ConfigDict) -> None:
  o = config.objective
  if config.data.binarize != 'none':
    raise config_lib.ConfigError('The VQ-VAE decoder models 8-bit pixels; set '
                                 '--config.data.binarize=none.')
  if o.codebook == 'loss' and o.dead_code_threshold > 0:
    raise config_lib.ConfigError(
        'Dead-code restart moves the EMA codebook (a model state), not a codebook '
        'parameter; with objective.codebook=loss set --config.objective.dead_code_threshold=0.')


def check_scales(config: ml_collections.ConfigDict, image_shape) -> None:
  m = config.model
  if not m.scales:
    return
  if m.code_groups != 1:
    raise config_lib.ConfigError(
        f'Multi-scale tokens are one code a position, not model.code_groups='
        f'{m.code_groups}; set --config.model.code_groups=1 with model.scales.')
  side = (image_shape[0] // 2**m.downsamples, image_shape[1] // 2**m.downsamples)
  if side[0] != side[1]:
    raise config_lib.ConfigError(f'Multi-scale tokens need a square latent, not {side}; '
                                 'use square images or set --config.model.scales=().')
  try:
    multiscale.check_scales(m.scales, side[0])
  except ValueError as e:
    fix = config_lib.flag_value(multiscale.default_scales(side[0]))
    raise config_lib.ConfigError(f'{e} Set --config.model.scales={fix}.') from None


def fitted_scales(image_side: int, downsamples: int) -> tuple[int, ...]:
  """VAR's kind of scale schedule for the latent of image_side x image_side images."""
  return multiscale.default_scales(image_side // 2**downsamples)


def build(config: ml_collections.ConfigDict, info) -> Family:
  m, o, e = config.model, config.objective, config.eval
  check_config(config)
  check_scales(config, info.image_shape)
  objective = make_objective(m, o, info.image_shape)
  train_objective = make_objective(m, o, info.image_shape, config.compute_dtype)

  def first_codebook(rng, net, batch):
    z = objective.encode(net, jnp.asarray(batch['image']))
    if o.kmeans_init:
      return quantizer.kmeans_codebook(rng, z, m.num_codes)
    return jax.random.uniform(rng, (m.num_codes, m.code_dim), minval=-1.0, maxval=1.0) \
        / m.num_codes

  def init_params(rng, batch):
    net_rng, code_rng = jax.random.split(rng)
    x = jnp.asarray(batch['image'][:1])
    params = {'net': objective.model.init(net_rng, objectives.pixel_likelihoods.to_centres(x))}
    if o.codebook == 'loss':
      params['codebook'] = first_codebook(code_rng, params['net'], batch)
    return params

  def init_model_state(rng, batch, params):
    if o.codebook == 'loss':
      return None
    return quantizer.ema_init(first_codebook(rng, params['net'], batch))._asdict()

  def loss_fn(params, batch, rng, context):
    loss, aux, model_state = train_objective.loss_and_state(params, context.model_state,
                                                            batch['image'], rng)
    return loss, (aux, model_state)

  def eval_fn(params, batch, rng, context):
    del rng
    return objective.eval_terms(params, context.model_state, batch['image'])

  decode_codes = jax.jit(objective.decode_codes)  # compiled once a run
  codes_of = jax.jit(objective.codes)

  def encode(params, batch, rng, context):
    """Each image's code indices: int32 [B, h, w * G], or [B, 1, L] multi-scale tokens."""
    del rng
    x01 = jnp.asarray(batch['image'], jnp.float32)
    return codes_of(params, context.model_state, x01)

  def decode(params, codes, context):
    """Code indices (as `encode` gives them) -> the decoder's mean images [B, H, W, C] in
    [0, 1]."""
    mean, _ = decode_codes(params, context.model_state, jnp.asarray(codes, jnp.int32))
    return objectives.decoder_mean01(m.likelihood, mean)

  likelihood = None
  if m.likelihood != 'mse':  # a squared error is no likelihood to bound
    dims = int(np.prod(info.image_shape))

    def nll(params, batch, rng, context):
      """-log p(x | z_q(x)) + N log K nats: the bound under the uniform prior over the
      codes, the eval's bound_bits_per_dim_uniform_prior times D ln 2."""
      del rng
      recon = objective.eval_terms(params, context.model_state, batch['image'])['recon_nll']
      return recon + objectives.uniform_code_nats(int(np.prod(objective.token_shape)),
                                                  m.num_codes)

    likelihood = Likelihood(nll=nll, exact=False, dims=dims,
                            description='-log p(x | z_q(x)) + N log K: the bound under a '
                            'uniform prior over the N codes (a learned prior over them is '
                            'the code_prior or var family)')

  def sample(params, rng, num_samples, context):
    """Decoder means [n, H, W, C] in [0, 1] of codes drawn from the uniform prior, the
    model the bound above scores: a stage 1 alone has no learned prior (the code_prior
    and var families draw from one)."""
    codes = jax.random.randint(rng, (num_samples,) + objective.token_shape, 0, m.num_codes)
    return decode(params, codes, context)

  inference = Inference(sample=sample, likelihood=likelihood, encode=encode, decode=decode)
  if info.test_images is None:  # built without the data (genjax.load): no figures
    artifacts_fn = None
  else:
    artifacts_fn = _artifacts(objective, m, e, info.test_images.images)

  return Family(
      name='vqvae',
      signature={'model': model_signature(m, {'code_groups': 1}), 'objective': o.to_dict(),
                 'image_shape': list(info.image_shape)},
      training=Training(init_params=init_params, init_model_state=init_model_state,
                        loss_fn=loss_fn),
      reporting=Reporting(eval_fn=eval_fn, eval_summary=objectives.summarise_codes,
                          artifacts_fn=artifacts_fn, render_figures=figures.render_run,
                          eval_examples=e.test_examples),
      inference=inference,
  )


def _artifacts(objective, m, e, test_u8):
  """The figures' arrays: reconstructions, code usage, decodings of uniform codes and,
  multi-scale, the decodings scale by scale."""
  recon_inputs = test_u8[:e.num_reconstructions].astype(np.float32) / 255.0
  token_shape = objective.token_shape
  encode, decode = encoder(objective), jax.jit(objective.decode_codes)  # compiled once a run
  by_scale = jax.jit(objective.reconstructions_by_scale)

  def artifacts_fn(params, rng, context):
    model_state = context.model_state
    codes = encode(params, model_state, test_u8[:e.usage_examples])
    mean, _ = decode(params, model_state, jnp.asarray(codes[:len(recon_inputs)]))
    uniform = jax.random.randint(rng, (e.num_uniform_samples,) + token_shape, 0, m.num_codes)
    uniform_mean, _ = decode(params, model_state, uniform)
    out = {'recon_inputs': recon_inputs,
           'recon_means': np.asarray(objectives.decoder_mean01(m.likelihood, mean)),
           'code_usage': np.bincount(codes.reshape(-1), minlength=m.num_codes),
           'code_usage_images': np.int64(len(codes)),
           'uniform_prior_samples': np.asarray(objectives.decoder_mean01(m.likelihood,
                                                                         uniform_mean))}
    if m.scales:
      out['scale_means'] = np.asarray(objectives.decoder_mean01(
          m.likelihood, by_scale(params, model_state, jnp.asarray(recon_inputs))))
      out['scales'] = np.asarray(m.scales)
    return out

  return artifacts_fn


RANGES = {
    'model.channels': 'positive',
    'model.res_hidden': 'positive',
    'model.num_res_blocks': 'non_negative',
    'model.downsamples': 'positive',
    'model.code_dim': 'positive',
    'model.code_groups': 'positive',
    'model.scales': 'positive_each_or_empty',
    'model.num_codes': 'positive',
    'model.likelihood': objectives.LIKELIHOODS,
    'objective.codebook': ('ema', 'loss'),
    'objective.beta': 'non_negative',
    'objective.ema_decay': 'unit_interval',
    'objective.dead_code_threshold': 'non_negative',
    'eval.usage_examples': 'positive',
    'eval.num_reconstructions': 'positive',
    'eval.num_uniform_samples': 'positive',
}

FAMILY = FamilyDef(name='vqvae', schema=schema, build=build, data=image_data, ranges=RANGES,
                   compute_dtypes=config_lib.COMPUTE_DTYPES)
