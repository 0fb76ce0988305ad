"""VAR (Tian et al., 2024): a next-scale prior over a multi-scale tokenizer's tokens.

Stage 1 is a VQ-VAE run with model.scales (VAR's multi-scale residual tokenizer,
`configs/vqvae.py:cpu,multiscale`); its params are `frozen`, read by the compiled step.
The stream is the run's stored tokens ([1, L] grids, `genjax.data.codes`); each step
rebuilds the teacher-forcing inputs (the cumulative f_hat) from them with stage 1's
codebook and phi_k. The loss is the exact NLL of the L tokens in nats per image; labels
are replaced by the null class with probability model.class_dropout, so one network is
both p(tokens | y) and p(tokens) for classifier-free guidance.

Evaluation reports the token NLL and the bound -log p(x) <= -log p(x | f_hat) - log
p(tokens) in bits/dim (the same terms as the raster prior over the same tokens,
`genjax.stage2.codes`). Artifacts: samples, a class grid at each guidance scale,
the decodings scale by scale of a few samples, and the Fréchet distance of decoded samples
at each guidance scale beside its floor. A trained VAR (`genjax.load`) samples decoded
images (options label, guidance and guidance_ramp when class-conditional; top_k, top_p;
no temperature, which its sampler does not take) and scores images by that bound in nats.

Training computes VAR's transformer in config.compute_dtype (its logits and the NLL in
float32; the frozen tokenizer's teacher-forcing inputs are float32); evaluation and
sampling in float32. model.remat recomputes its blocks in the backward pass.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np

from genjax import commands
from genjax import config as config_lib
from genjax.errors import UserError
from genjax.evals import frechet_setup
from genjax.figures import var as figures
from genjax.models import multiscale_quantizer as multiscale
from genjax.models.remat import REMAT
from genjax.models.var import VARTransformer
from genjax.objectives import vqvae as vq_objectives
from genjax.samplers import var as samplers
from genjax.stage2.codes import (bound_nats, bound_terms, code_prior_data, frechet_of,
                                 frechet_reference, with_codes)
from genjax.stage2.first_stage import STAGE1_DATA_FIELDS, load_stage1
from genjax.training.family import (Family, FamilyDef, Inference, Likelihood, Reporting,
                                    Training)


def schema() -> ml_collections.ConfigDict:
  return config_lib.with_family_schema(
      model=dict(
          dim=128,
          num_heads=4,
          num_layers=4,
          mlp_ratio=4,
          attn_l2_norm=True,  # VAR's cosine attention with a learned per-head scale
          drop_path=0.0,  # the last block's stochastic-depth rate; VAR's: 0.1 depth / 24
          remat='none',  # blocks recomputed in the backward pass: genjax.models.remat.REMAT
          conditional=True,  # p(tokens | y), with the null class for guidance
          class_dropout=0.1),  # VAR's: labels replaced by the null class when training
      data=dict(
          stage1_workdir='',  # a finished multi-scale VQ-VAE run
          # With stage1_workdir empty, the main first trains this stage 1 into
          # <workdir>/stage1: configs/vqvae.py's variants, then --config.<field>=<value>
          # overrides, as after `--config=configs/vqvae.py:`; '': none.
          stage1_config='',
          **STAGE1_DATA_FIELDS),  # the images stage 1 read: '' and 0 take the run's
      eval_=dict(
          test_examples=0,  # 0: the whole test set
          num_samples=64,
          samples_per_class=10,
          # Classes a class grid shows, spread evenly over the labels (0: every class): a
          # figure of ImageNet's 1,000 classes would be 1,000 rows no one reads.
          grid_classes=10,
          guidance_scales=(1.0, 2.0, 4.0),  # w of u + w (c - u): a class grid and FD each
          guidance_ramp=False,  # w rises from 1 at the first scale to w at the last (VAR)
          top_k=0,  # 0: no top-k filtering
          top_p=1.0,  # 1.0: no nucleus filtering
          frechet_samples=1000,  # decoded samples scored against the test set; 0: none
          **frechet_setup.FIELDS,  # its feature space (eval.features) and what it needs
          sampler='fast'))  # 'fast' (KV cache) | 'naive' (full pass per scale; reference)


def make_model(m: ml_collections.ConfigDict, scales, num_codes: int, num_classes: int,
               dtype: str = 'float32', remat: str = 'none') -> VARTransformer:
  """The transformer of model section `m`, computing in `dtype`, its blocks recomputed in
  the backward pass as `remat` asks."""
  return VARTransformer(scales=tuple(scales), num_codes=num_codes, dim=m.dim,
                        num_heads=m.num_heads, num_layers=m.num_layers,
                        mlp_ratio=m.mlp_ratio, attn_l2_norm=m.attn_l2_norm,
                        drop_path=m.drop_path,
                        num_classes=num_classes if m.conditional else 0, dtype=dtype,
                        remat=remat)


def grid_classes(num_classes: int, shown: int) -> jax.Array:
  """The labels a class grid shows: `shown` of them (every one when 0 or more than there
  are), spread evenly from label 0."""
  if not shown or shown >= num_classes:
    return jnp.arange(num_classes)
  return jnp.arange(shown) * (num_classes // shown)


def check_config(config: ml_collections.ConfigDict, frechet: bool = True) -> None:
  """Refuses a config it cannot train; `frechet=False` (built without the data, for
  `genjax.load`) leaves the Fréchet distance's classifier unchecked: nothing scores it."""
  e = config.eval
  if frechet:
    frechet_setup.check(e, config.data.get('channels', 0))
  if not 0.0 < e.top_p <= 1.0:
    raise config_lib.ConfigError(f'eval.top_p={e.top_p} must be in (0, 1]; set '
                                 '--config.eval.top_p=1.0 (no nucleus filtering) or e.g. 0.96.')
  if not config.model.conditional and any(w != 1.0 for w in e.guidance_scales):
    raise config_lib.ConfigError('Guidance needs a class-conditional model; set '
                                 "--config.eval.guidance_scales='(1.0,)' or "
                                 '--config.model.conditional=True.')


def build(config: ml_collections.ConfigDict, info) -> Family:
  m, e = config.model, config.eval
  with_data = info.test_images is not None  # False: genjax.load, without the data
  check_config(config, frechet=with_data)
  stage1 = load_stage1(config.data.stage1_workdir)
  tokenizer = stage1.objective
  if not tokenizer.scales:
    raise UserError(f'The stage-1 run in {stage1.run.workdir} has one code map, not '
                    f'multi-scale tokens; train a tokenizer with {commands.VAR_TOKENIZER}')
  scales = tokenizer.scales
  num_classes = info.num_classes if m.conditional else 0
  model = make_model(m, scales, stage1.num_codes, info.num_classes)
  # Runs saved before remat existed lack it (genjax.load builds from their config).
  train_model = make_model(m, scales, stage1.num_codes, info.num_classes,
                           config.compute_dtype, m.get('remat', 'none'))
  code_dim = tokenizer.model.code_dim
  first = scales[0] ** 2
  length = multiscale.sequence_length(scales)

  def teacher_inputs(frozen, tokens):
    codebook = tokenizer.codebook_of(frozen['params'], frozen['model_state'])
    return multiscale.next_scale_inputs(tokens, codebook, scales,
                                        tokenizer.phi_fn(frozen['params']['net']))

  def token_nll(params, frozen, tokens, y, rng=None):
    """NLL [B] of the tokens; with rng, a training pass (stochastic depth, compute_dtype)."""
    train = rng is not None and m.drop_path > 0
    net = model if rng is None else train_model
    logits = net.apply(params, teacher_inputs(frozen, tokens), y, train=train,
                       rngs={'dropout': rng} if train else None)
    logp = jnp.take_along_axis(jax.nn.log_softmax(logits), tokens[..., None], axis=-1)
    return -jnp.sum(logp[..., 0], axis=-1)

  def init_params(rng, batch):
    y = jnp.zeros((1,), jnp.int32) if num_classes else None
    return model.init(rng, jnp.zeros((1, length - first, code_dim)), y)

  def loss_fn(params, batch, rng, context):
    tokens = batch['codes'][:, 0]
    y = None
    class_rng, path_rng = jax.random.split(rng)
    if num_classes:
      drop = jax.random.bernoulli(class_rng, m.class_dropout, batch['label'].shape)
      y = jnp.where(drop, model.null_class, batch['label'])
    nll = token_nll(params, context.frozen, tokens, y, path_rng)
    aux = {'nll': jnp.mean(nll), 'bits_per_token': jnp.mean(nll) / (length * math.log(2.0))}
    return jnp.mean(nll), aux

  def eval_fn(params, batch, rng, context):
    del rng
    y = batch['label'] if num_classes else None
    return bound_terms(tokenizer, context.frozen, batch,
                       token_nll(params, context.frozen, batch['codes'][:, 0], y))

  def nll(params, batch, rng, context):
    """-log p(x | f_hat(x)) - log p(tokens(x) | y) [B] nats: the eval's bound_bits_per_dim
    times H * W * C ln 2."""
    del rng
    batch = with_codes(tokenizer, context.frozen, batch)
    y = batch['label'] if num_classes else None
    return bound_nats(tokenizer, context.frozen, batch,
                      token_nll(params, context.frozen, batch['codes'][:, 0], y))

  scorer, floor_images = frechet_reference(e, info, stage1, config.seed)
  naive = e.sampler == 'naive'

  @jax.jit
  def decode(frozen, tokens):
    mean = tokenizer.decode_codes(frozen['params'], frozen['model_state'], tokens[:, None])[0]
    return vq_objectives.decoder_mean01(tokenizer.likelihood, mean)

  by_scale = jax.jit(lambda frozen, tokens: vq_objectives.decoder_mean01(
      tokenizer.likelihood, tokenizer.decodings_by_scale(
          frozen['params'], frozen['model_state'], tokens[:, None])))

  def draw(params, frozen, rng, num, y, guidance, top_k=e.top_k, top_p=e.top_p,
           ramp=e.guidance_ramp):
    tokens, _, logps = samplers.sample(
        model, params, tokenizer, frozen['params'], frozen['model_state'], rng, num, y,
        guidance=float(guidance), top_k=int(top_k), top_p=float(top_p), naive=naive,
        ramp=bool(ramp))
    return tokens, logps

  def labels_for(num, start=0):
    return (jnp.arange(start, start + num) % info.num_classes) if num_classes else None

  def sample(params, rng, num_samples, context, label=None, guidance=1.0,
             guidance_ramp=e.guidance_ramp, top_k=e.top_k, top_p=e.top_p):
    """Token pyramids drawn scale by scale, decoded by the tokenizer: images [n, H, W, C]
    in [0, 1]. A class-conditional model's labels are `label` (one, or one per sample) or
    cycle through the classes, with classifier-free guidance at scale `guidance` (1: none),
    rising to it over the scales with `guidance_ramp`; `top_k` > 0 and `top_p` < 1 filter
    each token's logits after guidance."""
    y = labels_for(num_samples)
    if num_classes and label is not None:
      y = jnp.broadcast_to(jnp.asarray(label, jnp.int32), (num_samples,))
    tokens, _ = draw(params, context.frozen, rng, num_samples, y, guidance, top_k, top_p,
                     guidance_ramp)
    return np.asarray(decode(context.frozen, tokens))

  filters = {'top_k': e.top_k, 'top_p': float(e.top_p)}
  guided = {'label': None, 'guidance': 1.0, 'guidance_ramp': bool(e.guidance_ramp)}
  inference = Inference(
      sample=sample, sample_options={**(guided if num_classes else {}), **filters},
      likelihood=Likelihood(
          nll=nll, exact=False, dims=int(np.prod(tokenizer.model.image_shape)),
          description="-log p(x | f_hat(x)) - log p(tokens(x)): the tokenizer's "
          "reconstruction NLL at the image's tokens plus VAR's exact NLL of them"
          + (', given the label' if num_classes else '')))

  def artifacts_fn(params, rng, context):
    frozen = context.frozen
    rngs = jax.random.split(rng, 3)
    y = labels_for(e.num_samples)
    tokens, logps = draw(params, frozen, rngs[0], e.num_samples, y, 1.0)
    out = {'samples': np.asarray(decode(frozen, tokens)),
           'sample_nll': -np.asarray(logps).sum(axis=1),
           'scale_samples': np.asarray(by_scale(frozen, tokens[:8])),
           'scales': np.asarray(scales),
           'guidance_scales': np.asarray(e.guidance_scales, np.float64)}
    if num_classes:
      grid_y = jnp.repeat(grid_classes(info.num_classes, e.grid_classes),
                          e.samples_per_class)
      out['class_grid_labels'] = np.asarray(grid_y)
      out['class_grids'] = np.stack([
          np.asarray(decode(frozen, draw(params, frozen, rngs[1], len(grid_y), grid_y, w)[0]))
          for w in e.guidance_scales])
    if scorer is not None:
      distances = []
      for w in e.guidance_scales:

        def draw_batch(i, start, b, w=w):
          tokens, _ = draw(params, frozen, jax.random.fold_in(rngs[2], i), b,
                           labels_for(b, start), w)
          return decode(frozen, tokens)

        distances.append(frechet_of(scorer, draw_batch, e.frechet_samples))
      out['frechet_by_guidance'] = np.asarray(distances, np.float64)
      out['frechet_distance'] = np.float64(distances[list(e.guidance_scales).index(1.0)]
                                           if 1.0 in e.guidance_scales else distances[0])
      out['frechet_best'] = np.float64(min(distances))
      out['frechet_floor'] = np.float64(scorer(floor_images))
      out['frechet_samples'] = np.int64(e.frechet_samples)
    return out

  return Family(
      name='var',
      # Without remat, which computes the same function: a run may resume under another.
      signature={'model': {f: v for f, v in m.to_dict().items() if f != 'remat'},
                 'scales': list(scales), 'num_codes': stage1.num_codes,
                 'code_dim': code_dim, 'num_classes': num_classes},
      training=Training(init_params=init_params, loss_fn=loss_fn, frozen=stage1.frozen,
                        upstream=stage1.run.record()),
      reporting=Reporting(eval_fn=eval_fn, artifacts_fn=artifacts_fn if with_data else None,
                          render_figures=figures.render_run, eval_examples=e.test_examples),
      inference=inference,
  )


RANGES = {
    'model.dim': 'positive',
    'model.num_heads': 'positive',
    'model.num_layers': 'positive',
    'model.mlp_ratio': 'positive',
    'model.drop_path': 'unit_interval',
    'model.remat': REMAT,
    'model.class_dropout': 'unit_interval',
    'eval.num_samples': 'positive',
    'eval.samples_per_class': 'positive',
    'eval.grid_classes': 'non_negative',
    'eval.guidance_scales': 'positive_each',
    'eval.top_k': 'non_negative',
    'eval.frechet_samples': 'non_negative',
    'eval.sampler': ('fast', 'naive'),
}

FAMILY = FamilyDef(name='var', schema=schema, build=build, data=code_prior_data,
                   ranges=RANGES, compute_dtypes=config_lib.COMPUTE_DTYPES)
