"""Stage 2 of the VQ-VAE: an autoregressive prior over a trained stage 1's code grids.

The prior is one of the autoregressive image models (Gated PixelCNN by default, or the
causal Transformer, PixelCNN, LSTM) with K-way code tokens in and out; it trains through
the one loop on the codes of the stage-1 run named by config.data.stage1_workdir. The
stage-1 params are `frozen`: a jit argument of the eval step, never updated, never folded
into the program. Evaluation reports the prior's exact code NLL (nats per image, bits per
code) and the full bound -log p(x) <= -log p(x | z_q(x)) - log p_prior(z_q(x)) in bits/dim
beside the uniform prior's. Samples come from the prior's cached sampler and are decoded by
stage 1 (the decoder's mean), scored by the offline Fréchet distance beside its floor. A
trained prior (`genjax.load`) samples decoded images (options temperature, top_k, and label
when conditional) and scores images by that bound in nats. The prior trains in
config.compute_dtype as the autoregressive family's networks do (logits and NLL float32);
it evaluates and samples in float32.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np

from genjax import config as config_lib
from genjax.data.family_data import DataInfo
from genjax.evals import frechet_setup
from genjax.families import autoregressive
from genjax.figures import autoregressive as figures
from genjax.models import pixels
from genjax.models.autoregressive import make_model
from genjax.objectives import autoregressive as ar_objectives
from genjax.objectives import vqvae as vq_objectives
from genjax.samplers import autoregressive as samplers
from genjax.stage2.codes import (bound_nats, bound_terms, code_prior_data, frechet_of,
                                 frechet_reference, with_codes)
from genjax.stage2.first_stage import STAGE1_DATA_FIELDS, load_stage1
from genjax.training.family import (Family, FamilyDef, Inference, Likelihood, Reporting,
                                    Training)


def schema() -> ml_collections.ConfigDict:
  model = autoregressive.schema().model.to_dict()
  model.update(architecture='gated_pixelcnn', likelihood='codes', num_layers=8, channels=64)
  return config_lib.with_family_schema(
      model=model,
      data=dict(
          stage1_workdir='',  # a finished VQ-VAE run (experiments/vqvae.py)
          # With stage1_workdir empty, the main first trains this stage 1 into
          # <workdir>/stage1: configs/vqvae.py's variants, then --config.<field>=<value>
          # overrides, as after `--config=configs/vqvae.py:` ('smoke'); '': none.
          stage1_config='',
          **STAGE1_DATA_FIELDS),  # the images stage 1 read: '' and 0 take the run's
      eval_=dict(
          test_examples=0,  # 0: the whole test set
          num_samples=64,  # decoded prior samples in the figure
          samples_per_class=10,  # conditional priors: a class grid
          frechet_samples=1000,  # samples scored against the test set; 0: none
          **frechet_setup.FIELDS,  # its feature space (eval.features) and what it needs
          sampler='fast'))  # 'fast' | 'naive' (full network per code; reference)


def check_config(config: ml_collections.ConfigDict, frechet: bool = True) -> None:
  """Refuses a config it cannot train; `frechet=False` (built without the data, for
  `genjax.load`) leaves the Fréchet distance's classifier unchecked: nothing scores it."""
  if config.model.likelihood != 'codes':
    raise config_lib.ConfigError("A prior over codes has K-way code tokens; set "
                                 "--config.model.likelihood=codes.")
  if frechet:
    frechet_setup.check(config.eval, config.data.get('channels', 0))


def build(config: ml_collections.ConfigDict, info: DataInfo) -> Family:
  m, e = config.model, config.eval
  with_data = info.test_images is not None  # False: genjax.load, without the data
  check_config(config, frechet=with_data)
  stage1 = load_stage1(config.data.stage1_workdir)
  k = stage1.num_codes
  num_classes = info.num_classes if m.conditional else 0
  grid_shape = tuple(info.example_shape) + (1,)
  model = make_model(m, grid_shape, num_classes, num_codes=k)
  train_model = make_model(m, grid_shape, num_classes, num_codes=k,
                           dtype=config.compute_dtype, remat=m.get('remat', 'none'))
  labels = (lambda batch: batch['label']) if m.conditional else (lambda batch: None)
  decoder = stage1.objective
  naive = e.sampler == 'naive'

  def as_model_batch(batch):
    return {'image': pixels.canvas_from_codes(batch['codes'], k), 'label': batch['label']}

  prior_loss = ar_objectives.nll_loss(train_model, m.conditional)

  def init_params(rng, batch):
    y = jnp.asarray(batch['label'][:1]) if m.conditional else None
    return model.init(rng, pixels.canvas_from_codes(jnp.asarray(batch['codes'][:1]), k), y)

  def loss_fn(params, batch, rng, context):
    return prior_loss(params, as_model_batch(batch), rng, context)

  def prior_nll(params, batch):
    canvas = pixels.canvas_from_codes(batch['codes'], k)
    return ar_objectives.nll_terms(model, params, canvas, labels(batch))['nll']

  def eval_fn(params, batch, rng, context):
    del rng
    return bound_terms(decoder, context.frozen, batch, prior_nll(params, batch))

  def nll(params, batch, rng, context):
    """-log p(x | z_q(x)) - log p_prior(z_q(x)) [B] nats: the eval's bound_bits_per_dim
    times H * W * C ln 2."""
    del rng
    batch = with_codes(decoder, context.frozen, batch)
    return bound_nats(decoder, context.frozen, batch, prior_nll(params, batch))

  scorer, floor_images = frechet_reference(e, info, stage1, config.seed)

  decode = jax.jit(lambda frozen, codes: vq_objectives.decoder_mean01(
      decoder.likelihood, decoder.decode_codes(frozen['params'], frozen['model_state'],
                                               codes)[0]))

  def draw(params, frozen, rng, num, y, temperature=1.0, top_k=0):
    canvas, logps = samplers.sample(model, params, rng, grid_shape, num, y, naive=naive,
                                    temperature=float(temperature), top_k=int(top_k))
    return np.asarray(decode(frozen, pixels.codes_from_canvas(canvas, k))), logps

  def sample(params, rng, num_samples, context, label=None, temperature=1.0, top_k=0):
    """Code grids drawn from the prior, decoded by stage 1: images [n, H, W, C] in [0, 1];
    a conditional prior's labels are `label` (one, or one per sample), or cycle through
    the classes. The codes are drawn from the logits divided by `temperature`, and with
    `top_k` > 0 from the k most probable codes only."""
    y = None
    if m.conditional:
      y = (jnp.arange(num_samples) % info.num_classes if label is None
           else jnp.broadcast_to(jnp.asarray(label, jnp.int32), (num_samples,)))
    return draw(params, context.frozen, rng, num_samples, y, temperature, top_k)[0]

  sample_options = {'label': None} if m.conditional else {}
  inference = Inference(
      sample=sample, sample_options={**sample_options, 'temperature': 1.0, 'top_k': 0},
      likelihood=Likelihood(
          nll=nll, exact=False, dims=int(np.prod(decoder.model.image_shape)),
          description="-log p(x | z_q(x)) - log p_prior(z_q(x)): stage 1's reconstruction "
          "NLL at the image's codes plus the prior's exact NLL of them"
          + (', given the label' if m.conditional else '')))

  def artifacts_fn(params, rng, context):
    frozen = context.frozen
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
      signature={'model': autoregressive.model_signature(m), 'code_shape': list(info.example_shape),
                 'num_codes': k},
      training=Training(init_params=init_params, loss_fn=loss_fn, frozen=stage1.frozen,
                        upstream=stage1.run.record()),
      reporting=Reporting(eval_fn=eval_fn, artifacts_fn=artifacts_fn if with_data else None,
                          render_figures=figures.render_run, eval_examples=e.test_examples),
      inference=inference,
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
                   ranges=RANGES, compute_dtypes=config_lib.COMPUTE_DTYPES)
