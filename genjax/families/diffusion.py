"""The DDPM family (Ho et al., 2020): U-Net, denoising loss, samplers, bound in bits/dim.

Images from the loop are k/255 in [0, 1] (config.data.binarize must be 'none'); the model
works on x = 2k/255 - 1 (see `genjax.objectives.diffusion` for the bound's
discretization). Use config.ema_decay > 0 (e.g. 0.9999): the loop then evaluates and
samples with the EMA params, as Ho et al. do.

With model.conditional the U-Net also takes a class, dropped to a "no label" class with
probability model.label_dropout in training, so one network gives p(x|y) and p(x) and
sampling can use classifier-free guidance. Its bound is reported for p(x) (no label), so
that it is comparable with unconditional models.

Inference (`genjax.load`): DDIM samples with options `steps` and `eta` (the config's
eval.ddim_steps and eval.ddim_eta by default), and for a conditional model `label` and
`guidance` (classifier-free, w = 1 the plain conditional model); the likelihood is the
variational bound of p(x) in nats (`objectives.vb_bound`, as `genjax.tools.bound` and the
eval compute it), from `timesteps` network calls per image (0: all T terms exactly).

model.remat recomputes the U-Net's blocks in the training step's backward pass
(`genjax.models.remat`): less memory, the same gradients.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np

from genjax import config as config_lib
from genjax.errors import OptionError
from genjax.diffusion import schedules as sch
from genjax.data.image_data import image_data
from genjax.evals import frechet_setup
from genjax.figures import diffusion as diffusion_figures
from genjax.models import unet
from genjax.models.unet import make_model
from genjax.objectives import diffusion as objectives
from genjax.samplers import diffusion as samplers
from genjax.samplers.labels import sample_labels
from genjax.training.family import (Family, FamilyDef, Inference, Likelihood, Reporting,
                                    Training)


def schema() -> ml_collections.ConfigDict:
  return config_lib.with_family_schema(
      model=dict(channels=64, channel_mults=(1, 2, 2), num_res_blocks=2,
                 attn_resolutions=(7,), dropout=0.1, norm_groups=32, conditional=False,
                 label_dropout=0.1,
                 conv='auto',  # convolution formulation: 'auto' | 'xla' | 'taps' (models/conv.py)
                 remat='none'),  # blocks recomputed in the backward pass: REMAT
      objective=dict(schedule='linear', timesteps=1000, beta_start=1e-4, beta_end=0.02,
                     prediction='eps',  # 'eps' | 'x0' | 'v'
                     variance='fixedlarge'),  # reverse-process variance: 'fixedlarge' | 'fixedsmall'
      eval_=dict(
          nll_timesteps=8,  # periodic bound from k terms, unbiased (objectives.vb_bound); 0: all T
          final_nll_timesteps=0,  # the final test bound; 0: exact sum over all T terms
          test_examples=0,  # 0: the whole test set
          train_examples=0,
          num_samples=64,  # ancestral and DDIM samples drawn for figures
          progressive_frames=8,  # x_t and predicted x0 kept along the ancestral chain
          ddim_steps=50,
          ddim_eta=0.0,
          guidance_scales=(0.0, 1.0, 3.0, 5.0),  # classifier-free guidance w, a grid each
          class_grid_per_class=6,
          **frechet_setup.FIELDS,  # its feature space (eval.features) and what it needs
          frechet_samples=0))  # samples scored against the test set (DDIM); 0: none


# The bound's network calls per image that `genjax.load`'s score takes by default: the
# bound tool's (`experiments.diffusion_bound`), an unbiased estimate at a fraction of T.
SCORE_TIMESTEPS = 32


def build(config: ml_collections.ConfigDict, info) -> Family:
  m, o, e = config.model, config.objective, config.eval
  if config.data.binarize != 'none':
    raise config_lib.ConfigError('A diffusion model works on grey levels; set --config.data.binarize=none.')
  schedule = sch.schedule_of(o)
  k = info.num_classes
  model = make_model(m, k)
  # Training computes in compute_dtype; evaluation and sampling in float32, so that the
  # bound and the samples are comparable across runs. The params are float32 in both.
  # Runs saved before remat existed lack it (genjax.load builds from their config).
  train_model = make_model(m, k, config.compute_dtype, m.get('remat', 'none'))
  null = lambda n: jnp.full((n,), k, jnp.int32) if m.conditional else None

  def init_params(rng, batch):
    x = jnp.asarray(batch['image'][:1])
    return model.init(rng, x, jnp.zeros((1,), jnp.int32), null(1))

  def loss_fn(params, batch, rng, context):
    del context
    drop_rng, label_rng, rng = jax.random.split(rng, 3)
    x0 = objectives.to_model_space(batch['image'])
    y = None
    if m.conditional:
      keep = jax.random.uniform(label_rng, batch['label'].shape) >= m.label_dropout
      y = jnp.where(keep, batch['label'], k)
    net = lambda x, t: train_model.apply(params, x, t, y, train=True,
                                         rngs={'dropout': drop_rng})
    loss = objectives.simple_loss_terms(net, schedule, x0, rng, o.prediction)
    return jnp.mean(loss), {}

  def bound(params, images01, rng, nll_timesteps: int):
    """`objectives.vb_bound` of images k/255 under p(x) (a conditional model's null
    label), as `genjax.tools.bound` computes it."""
    net = lambda x, t: model.apply(params, x, t, null(x.shape[0]))
    return objectives.vb_bound(net, schedule, objectives.to_model_space(images01), rng,
                               nll_timesteps, o.prediction, o.variance)

  def eval_with(nll_timesteps: int):
    def eval_fn(params, batch, rng, context):
      del context
      x0 = objectives.to_model_space(batch['image'])
      net = lambda x, t: model.apply(params, x, t, null(x.shape[0]))
      loss_rng, rng = jax.random.split(rng)
      out = bound(params, batch['image'], rng, nll_timesteps)
      out['loss'] = objectives.simple_loss_terms(net, schedule, x0, loss_rng, o.prediction)
      return out
    return eval_fn

  def denoiser(params, y, w):
    net = lambda x, t, labels: model.apply(params, x, t, labels)
    if y is None:
      return lambda x, t: net(x, t, null(x.shape[0]))
    return samplers.guided(net, y, k, w)

  keep = samplers.trajectory_steps(o.timesteps, e.progressive_frames)

  @jax.jit
  def ddpm(params, x_T, rng):
    return samplers.ddpm_sample(denoiser(params, None, 0.0), schedule, x_T, rng,
                                o.prediction, o.variance, keep=keep)

  @functools.partial(jax.jit, static_argnames='steps')
  def ddim(params, x_T, rng, y, w, steps=e.ddim_steps, eta=e.ddim_eta):
    return samplers.ddim_sample(denoiser(params, y, w), schedule, x_T, rng, steps, eta,
                                o.prediction)

  shape = tuple(info.image_shape)
  noise = lambda rng, n: jax.random.normal(rng, (n,) + shape)
  to01 = lambda x: np.asarray(objectives.to_unit_interval(x))

  def sample(params, rng, num_samples, context, steps=e.ddim_steps, eta=e.ddim_eta,
             label=None, guidance=1.0):
    """DDIM samples, [n, H, W, C] in [0, 1], on `steps` of the T timesteps with `eta`
    (0: deterministic given the starting noise; 1: strided ancestral sampling). Without a
    label, of p(x) (a conditional model's null label); a conditional model draws class
    `label` (one, or one per sample) with classifier-free guidance scale `guidance`."""
    del context
    if not 1 <= steps <= o.timesteps:
      raise OptionError(f'steps={steps}: DDIM takes 1..T = {o.timesteps} of the timesteps.')
    y = sample_labels(label, num_samples, k if m.conditional else 0, guidance=guidance,
                      unguided=1.0)
    noise_rng, step_rng = jax.random.split(rng)
    return to01(ddim(params, noise(noise_rng, num_samples), step_rng, y,
                     float(guidance if y is not None else 0.0), steps=int(steps),
                     eta=float(eta)))

  def nll(params, batch, rng, context, timesteps):
    """The variational bound on -log p(x) in nats from `timesteps` network calls per
    image (0: all T terms exactly; k > 0: an unbiased estimate)."""
    del context
    return bound(params, batch['image'], rng, timesteps)['vb_nats']

  sample_options = {'steps': e.ddim_steps, 'eta': e.ddim_eta}
  if m.conditional:
    sample_options.update(label=None, guidance=1.0)
  inference = Inference(
      sample=sample, sample_options=sample_options,
      likelihood=Likelihood(
          nll=nll, exact=False, dims=int(np.prod(shape)),
          options={'timesteps': SCORE_TIMESTEPS},
          description='the variational bound of p(x) on the 8-bit data (discretized '
          'decoder), from `timesteps` network calls per image (0: all T terms exactly)'))

  if info.test_images is None:  # built without the data (genjax.load): no figures
    artifacts_fn = None
  else:
    artifacts_fn = _artifacts(o, e, m, k, schedule, ddpm, ddim, noise, to01,
                              info.test_images.images)

  return Family(
      name='diffusion',
      # The conv formulation and remat compute the same function, so a run may resume
      # under another.
      signature={'model': {f: v for f, v in m.to_dict().items() if f not in ('conv', 'remat')},
                 'objective': o.to_dict(),
                 'image_shape': list(info.image_shape)},
      training=Training(init_params=init_params, loss_fn=loss_fn),
      reporting=Reporting(
          eval_fn=eval_with(e.nll_timesteps),
          final_eval_fn=eval_with(e.final_nll_timesteps),
          artifacts_fn=artifacts_fn,
          render_figures=diffusion_figures.render_run,
          eval_examples=e.test_examples,
          train_eval_examples=e.train_examples),
      inference=inference,
  )


def _artifacts(o, e, m, k, schedule, ddpm, ddim, noise, to01, test_images):
  """The figures' arrays: ancestral and DDIM samples, the progressive generation, the
  forward process on test images, a conditional model's class grid at each guidance
  scale, and the Fréchet distance of DDIM samples when asked for."""
  test01 = test_images[:8].astype(np.float32) / 255.0
  frechet = frechet_setup.setup(e, test_images)
  scorer = None if frechet is None else frechet.scorer

  def artifacts_fn(params, rng, context):
    del context
    rngs = jax.random.split(rng, 8)
    n = e.num_samples
    samples, trajectory = ddpm(params, noise(rngs[0], n), rngs[1])
    out = {'samples': to01(samples),
           'ddim_samples': to01(ddim(params, noise(rngs[2], n), rngs[3], None, 0.0)),
           # [sample, frame, H, W, C]: Ho et al.'s progressive generation, t decreasing
           'progressive_x_t': to01(trajectory['x_t']).swapaxes(0, 1),
           'progressive_x0_pred': to01(trajectory['x0_pred']).swapaxes(0, 1),
           'progressive_t': np.asarray(trajectory['t'])}
    ts = np.round(np.linspace(0, o.timesteps - 1, 6)).astype(np.int32)
    x0 = objectives.to_model_space(jnp.asarray(test01))
    out['forward_process'] = np.stack([to01(sch.q_sample(
        schedule, x0, jnp.full((len(x0),), t), noise(rngs[4], len(x0)))) for t in ts], 1)
    out['forward_timesteps'] = ts + 1  # the paper's t
    if m.conditional:
      y = jnp.repeat(jnp.arange(k, dtype=jnp.int32), e.class_grid_per_class)
      x_T = noise(rngs[5], len(y))  # the same noise at every w, so columns compare
      out['class_grid'] = np.stack([to01(ddim(params, x_T, rngs[6], y, w))
                                    for w in e.guidance_scales])
      out['class_grid_labels'] = np.asarray(y)
      out['guidance_scales'] = np.asarray(e.guidance_scales, np.float32)
    if scorer is not None:
      batches = []
      for i, start in enumerate(range(0, e.frechet_samples, 500)):
        b = min(500, e.frechet_samples - start)
        r = jax.random.fold_in(rngs[7], i)
        batches.append(to01(ddim(params, noise(r, b), jax.random.fold_in(r, 1), None, 0.0)))
      out['frechet_distance'] = np.float64(scorer(np.concatenate(batches)))
      out['frechet_samples'] = np.int64(e.frechet_samples)  # the score's sample count
    return out

  return artifacts_fn


RANGES = {
    **unet.RANGES,
    'objective.schedule': sch.SCHEDULES,
    'objective.timesteps': 'positive',
    'objective.beta_start': 'unit_interval',
    'objective.beta_end': 'unit_interval',
    'objective.prediction': ('eps', 'x0', 'v'),
    'objective.variance': ('fixedlarge', 'fixedsmall'),
    'eval.nll_timesteps': 'non_negative',
    'eval.final_nll_timesteps': 'non_negative',
    'eval.num_samples': 'positive',
    'eval.progressive_frames': 'positive',
    'eval.ddim_steps': 'positive',
    'eval.ddim_eta': 'non_negative',
    'eval.class_grid_per_class': 'positive',
    'eval.frechet_samples': 'non_negative',
}

FAMILY = FamilyDef(name='diffusion', schema=schema, build=build, data=image_data,
                   ranges=RANGES, compute_dtypes=config_lib.COMPUTE_DTYPES)
