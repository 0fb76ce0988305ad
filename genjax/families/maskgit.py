"""MaskGIT (Chang et al., 2022): masked parallel decoding over a trained VQ-VAE's codes.

A second stage, like the raster code prior and VAR: it trains through the one loop on the
codes of the stage-1 run named by config.data.stage1_workdir (`genjax.stage2`), whose
params are `frozen`, a jit argument never updated. The model is a bidirectional
Transformer over the flattened code grid with a [MASK] token
(`genjax.models.bidirectional_transformer`), class-conditional with a null class; the loss
(`genjax.objectives.maskgit`) is the cross-entropy of randomly masked codes given the rest
(gamma(r) N of them masked, r ~ U[0, 1)), with label smoothing and labels dropped to the
null class with probability model.class_dropout for classifier-free guidance. Sampling
(`genjax.samplers.maskgit`) decodes all N codes in eval.steps parallel steps, keeping the
most confident draws each step, and stage 1 decodes the codes to images.

There is no likelihood: MaskGIT's network gives the distribution of masked codes given
the others, never p(codes), and its decoding order is drawn, so `Inference.likelihood` is
None. Evaluation reports the NLL (nats) and accuracy of the test codes at randomly masked
positions, given the rest; artifacts are samples, a class grid, the canvas after each
decoding step, and the Fréchet distance of decoded samples beside its floor. A trained
MaskGIT (`genjax.load`) samples decoded images with options steps and temperature, and
label and guidance when class-conditional.

The Transformer trains in config.compute_dtype (logits and loss float32); it evaluates
and samples in float32. model.remat recomputes its blocks in the backward pass.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np

from genjax import config as config_lib
from genjax.errors import UserError
from genjax.evals import frechet_setup
from genjax.figures import maskgit as figures
from genjax.models.bidirectional_transformer import BidirectionalTransformer
from genjax.models.remat import REMAT
from genjax.objectives import maskgit as objectives
from genjax.objectives import vqvae as vq_objectives
from genjax.samplers import maskgit as samplers
from genjax.samplers.labels import sample_labels
from genjax.stage2.codes import code_prior_data, frechet_of, frechet_reference
from genjax.stage2.first_stage import STAGE1_DATA_FIELDS, load_stage1
from genjax.training.family import Family, FamilyDef, Inference, Reporting, Training

STEPS_SHOWN = 8  # samples in the figure of the decoding steps


def schema() -> ml_collections.ConfigDict:
  return config_lib.with_family_schema(
      model=dict(
          dim=128,
          num_heads=4,
          num_layers=4,
          mlp_ratio=4,
          remat='none',  # blocks recomputed in the backward pass: genjax.models.remat.REMAT
          conditional=True,  # p(codes | y), with the null class for guidance
          class_dropout=0.1),  # labels replaced by the null class when training
      objective=dict(
          schedule='cosine',  # gamma(r): 'cosine' (MaskGIT's) | 'linear'
          label_smoothing=0.1),  # MaskGIT's
      data=dict(
          stage1_workdir='',  # a finished VQ-VAE run (experiments/vqvae.py)
          # With stage1_workdir empty, the main first trains this stage 1 into
          # <workdir>/stage1: configs/vqvae.py's variants, then --config.<field>=<value>
          # overrides, as after `--config=configs/vqvae.py:`; '': none.
          stage1_config='',
          **STAGE1_DATA_FIELDS),  # the images stage 1 read: '' and 0 take the run's
      eval_=dict(
          test_examples=0,  # 0: the whole test set
          num_samples=64,
          samples_per_class=10,  # conditional models: a class grid
          steps=8,  # T decoding steps, 1..N (MaskGIT's 8)
          temperature=1.0,  # the codes are drawn from the logits divided by it
          choice_temperature=4.5,  # the Gumbel noise on confidences, annealed to 0 (MaskGIT's)
          guidance=0.0,  # classifier-free guidance w of (1 + w) c - w u; 0: none
          frechet_samples=1000,  # decoded samples scored against the test set; 0: none
          **frechet_setup.FIELDS))  # its feature space (eval.features) and what it needs


def make_model(m: ml_collections.ConfigDict, num_tokens: int, num_codes: int,
               num_classes: int, dtype: str = 'float32',
               remat: str = 'none') -> BidirectionalTransformer:
  """The Transformer of model section `m`, computing in `dtype`, its blocks recomputed in
  the backward pass as `remat` asks."""
  return BidirectionalTransformer(num_tokens=num_tokens, num_codes=num_codes, dim=m.dim,
                                  num_heads=m.num_heads, num_layers=m.num_layers,
                                  mlp_ratio=m.mlp_ratio,
                                  num_classes=num_classes if m.conditional else 0,
                                  dtype=dtype, remat=remat)


def area_weights(pixels: int, codes: int) -> np.ndarray:
  """[pixels, codes]: the share of pixel i's extent that code c covers, when pixels and
  codes each tile [0, 1] evenly along one side of the image; each row sums to 1."""
  edges = lambda n: np.arange(n + 1) / n
  p, c = edges(pixels), edges(codes)
  overlap = (np.minimum(p[1:, None], c[None, 1:]) - np.maximum(p[:-1, None], c[None, :-1]))
  return np.maximum(overlap, 0.0) * pixels


def check_config(config: ml_collections.ConfigDict, num_tokens: int,
                 frechet: bool = True) -> None:
  """Refuses a config it cannot train; `frechet=False` (built without the data, for
  `genjax.load`) leaves the Fréchet distance's classifier unchecked: nothing scores it."""
  e = config.eval
  if frechet:
    frechet_setup.check(e, config.data.get('channels', 0))
  if not 1 <= e.steps <= num_tokens:
    raise config_lib.ConfigError(
        f'eval.steps={e.steps}, but the stage-1 codes are N = {num_tokens} per image and '
        f'each step reveals at least one; set --config.eval.steps={min(8, num_tokens)}.')
  if not config.model.conditional and e.guidance:
    raise config_lib.ConfigError('Guidance needs a class-conditional model; set '
                                 '--config.eval.guidance=0.0 or --config.model.conditional=True.')


def build(config: ml_collections.ConfigDict, info) -> Family:
  m, o, e = config.model, config.objective, config.eval
  with_data = info.test_images is not None  # False: genjax.load, without the data
  stage1 = load_stage1(config.data.stage1_workdir)
  grid = tuple(info.example_shape)
  n, k = math.prod(grid), stage1.num_codes
  check_config(config, n, frechet=with_data)
  num_classes = info.num_classes if m.conditional else 0
  if m.conditional and not num_classes:
    raise UserError(f'The stage-1 run in {stage1.run.workdir} has no labels; set '
                    '--config.model.conditional=False.')
  model = make_model(m, n, k, num_classes)
  train_model = make_model(m, n, k, num_classes, config.compute_dtype, m.remat)
  decoder = stage1.objective
  labels = (lambda batch: batch['label']) if num_classes else (lambda batch: None)
  flat = lambda codes: codes.reshape(codes.shape[0], n)

  def init_params(rng, batch):
    y = jnp.asarray(batch['label'][:1]) if num_classes else None
    return model.init(rng, flat(jnp.asarray(batch['codes'][:1])), y)

  def loss_fn(params, batch, rng, context):
    del context
    return objectives.maskgit_loss(
        lambda tokens, y: train_model.apply(params, tokens, y), flat(batch['codes']),
        labels(batch), rng, mask_token=model.mask_token, schedule=o.schedule,
        label_smoothing=o.label_smoothing, class_dropout=m.class_dropout,
        null_class=model.null_class)

  def eval_fn(params, batch, rng, context):
    """The test codes' NLL and accuracy at randomly masked positions given the rest."""
    del context
    codes = flat(batch['codes'])
    mask = objectives.random_mask(rng, codes.shape[0], n, o.schedule)
    logits = model.apply(params, jnp.where(mask, model.mask_token, codes), labels(batch))
    return objectives.per_example_terms(logits, codes, mask)

  decode = jax.jit(lambda frozen, codes: vq_objectives.decoder_mean01(
      decoder.likelihood, decoder.decode_codes(frozen['params'], frozen['model_state'],
                                               codes.reshape(codes.shape[:1] + grid))[0]))

  def draw(params, rng, num, y, steps=e.steps, temperature=e.temperature,
           guidance=e.guidance):
    return samplers.sample(model, params, rng, num, y, steps=int(steps),
                           temperature=float(temperature), guidance=float(guidance),
                           choice_temperature=e.choice_temperature, schedule=o.schedule)

  def labels_for(num, start=0):
    return (jnp.arange(start, start + num) % num_classes) if num_classes else None

  def sample(params, rng, num_samples, context, steps=e.steps, temperature=e.temperature,
             label=None, guidance=e.guidance):
    """Code grids decoded in `steps` parallel steps, decoded by stage 1: images [n, H, W, C]
    in [0, 1]. Codes are drawn from the logits divided by `temperature`; a conditional
    model's labels are `label` (one, or one per sample) or cycle through the classes, with
    classifier-free guidance at scale `guidance` (0: none)."""
    y = labels_for(num_samples)
    if label is not None:
      y = sample_labels(label, num_samples, num_classes)
    codes = draw(params, rng, num_samples, y, steps, temperature, guidance).codes
    return np.asarray(decode(context.frozen, codes))

  options = {'steps': e.steps, 'temperature': e.temperature}
  if num_classes:
    options.update(label=None, guidance=e.guidance)
  # No likelihood: the network gives masked codes given the others, never p(codes).
  inference = Inference(sample=sample, sample_options=options, likelihood=None)

  scorer, floor_images = frechet_reference(e, info, stage1, config.seed)

  def step_masks(decoding, shown, image_shape):
    """The fraction of each pixel's codes still masked after each step [T, shown, H, W]:
    the code grid's mask averaged over the pixels each code covers."""
    masked = np.asarray(decoding.canvases[:, :shown] == model.mask_token, np.float32)
    rows, cols = (area_weights(p, c) for p, c in zip(image_shape, grid))  # [h, w] grids
    return np.einsum('ir,tbrc,jc->tbij', rows, masked.reshape(masked.shape[:2] + grid), cols)

  def artifacts_fn(params, rng, context):
    rngs = jax.random.split(rng, 3)
    decoding = draw(params, rngs[0], e.num_samples, labels_for(e.num_samples))
    shown = min(STEPS_SHOWN, e.num_samples)
    steps = decoding.canvases.shape[0]
    # Every grid decoded in one call: the samples, each step's drawn codes, the class grid.
    codes = [decoding.codes, decoding.predictions[:, :shown].reshape(steps * shown, n)]
    if num_classes:
      y = jnp.repeat(jnp.arange(num_classes), e.samples_per_class)
      codes.append(draw(params, rngs[1], len(y), y).codes)
    images = np.asarray(decode(context.frozen, jnp.concatenate(codes)))
    parts = np.split(images, np.cumsum([len(c) for c in codes])[:-1])
    out = {'samples': parts[0], 'guidance': np.float64(e.guidance),
           'step_images': parts[1].reshape((steps, shown) + images.shape[1:]),
           'step_masked': step_masks(decoding, shown, images.shape[1:3]),
           'step_reveals': samplers.reveals(n, e.steps, o.schedule)}
    if num_classes:
      out['class_grid'], out['class_grid_labels'] = parts[2], np.asarray(y)
    if scorer is not None:

      def draw_batch(i, start, b):
        codes = draw(params, jax.random.fold_in(rngs[2], i), b, labels_for(b, start)).codes
        return decode(context.frozen, codes)

      out['frechet_distance'] = np.float64(frechet_of(scorer, draw_batch, e.frechet_samples))
      out['frechet_floor'] = np.float64(scorer(floor_images))  # train images, same count
      out['frechet_samples'] = np.int64(e.frechet_samples)
    return out

  return Family(
      name='maskgit',
      # Without remat, which computes the same function: a run may resume under another.
      signature={'model': {f: v for f, v in m.to_dict().items() if f != 'remat'},
                 'code_shape': list(grid), 'num_codes': k, 'num_classes': num_classes},
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
    'model.remat': REMAT,
    'model.class_dropout': 'unit_interval',
    'objective.schedule': objectives.SCHEDULES,
    'objective.label_smoothing': 'unit_interval',
    'eval.num_samples': 'positive',
    'eval.samples_per_class': 'positive',
    'eval.steps': 'positive',
    'eval.temperature': 'positive',
    'eval.choice_temperature': 'non_negative',
    'eval.guidance': 'non_negative',
    'eval.frechet_samples': 'non_negative',
}

FAMILY = FamilyDef(name='maskgit', schema=schema, build=build, data=code_prior_data,
                   ranges=RANGES, compute_dtypes=config_lib.COMPUTE_DTYPES)
