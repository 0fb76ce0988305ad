"""Latent diffusion (Rombach et al., 2022): DDPM over a frozen first stage's latents.

The first stage is a finished VAE or VQ-VAE run (config.data.stage1_workdir, of the family
data.stage1_family), read by `genjax.stage2.latents`: a VAE's latent is one sample of its
posterior q(z|x), a vector; a VQ-VAE's is its encoder's output before the codebook, a grid
[h, w, D]. Its params are `frozen`: a jit argument of every step, never updated. The
images are encoded inside the step rather than once beforehand: a VAE's latent is a fresh
posterior sample at every step (a stored set of samples would be a finite draw of q), and
the step reads the stage-1 run's own image stream, so no second copy of the data is kept.

The diffusion model is DDPM's (`genjax.objectives.diffusion`, `genjax.samplers.diffusion`)
on u = s z: epsilon prediction, T = 1000, Rombach et al.'s schedule (sqrt(beta) linear
from sqrt(0.0015) to sqrt(0.0195), 'scaled_linear'). The scale factor s is 1/std of the
first training batch's latents (Rombach et al.'s scale_by_std), or objective.scale_factor
when that is > 0; it is the run's model state, so it is checkpointed with the run and every
reader of the run (`genjax.load`) samples and scores with the same s. The network is the
DDPM U-Net over a VQ-VAE's grid (the U-Net resizes to odd sides, so a 7x7 or 2x2 grid
works with channel_mults of one or two levels) and an MLP (`genjax.models.mlp_denoiser`)
over a VAE's vector. With model.conditional it also takes a class, dropped to a "no label"
class with probability model.label_dropout, for classifier-free guidance.

Samples are DDIM's (options steps and eta; label and guidance when conditional), without
DDPM's clipping to [-1, 1] (latents are not bounded), divided by s and decoded by the first
stage to images in [0, 1]: a VAE's decoder mean, a VQ-VAE's decoder mean of the latents'
nearest codes (Rombach et al.'s VQ models quantise before decoding).

Likelihood: over a VAE, the bound -log p(x) <= E_q[-log p(x|z)] + E_q[L(s z) - d log s]
- H[q(z|x)] in nats and pixel bits/dim (`genjax.objectives.latent_diffusion`), where L is
DDPM's bound for continuous latents (a Gaussian decoder at t = 1), beside the VAE's own
negative ELBO at the same z (the N(0, I) prior's) for comparison. Over a VQ-VAE (a
deterministic encoder: q(z|x) is a point mass) no bound is defined: Inference.likelihood
is None and evaluation reports the denoising loss alone.
"""

from __future__ import annotations

import functools
import math

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np

from genjax import config as config_lib
from genjax.diffusion import schedules as sch
from genjax.distributions import standard_normal_kl
from genjax.errors import OptionError
from genjax.figures import latent_diffusion as figures
from genjax.models import mlp_denoiser
from genjax.models import unet
from genjax.objectives import diffusion as objectives
from genjax.objectives import latent_diffusion as latent_objectives
from genjax.samplers import diffusion as samplers
from genjax.samplers.labels import sample_labels
from genjax.stage2.first_stage import STAGE1_DATA_FIELDS
from genjax.stage2.latents import (FAMILIES, latent_diffusion_data, load_latent_stage1,
                                   scale_by_std)
from genjax.training.family import (Family, FamilyDef, Inference, Likelihood, Reporting,
                                    Training)


def schema() -> ml_collections.ConfigDict:
  return config_lib.with_family_schema(
      model=dict(
          # The U-Net, over a VQ-VAE's latent grid.
          channels=64, channel_mults=(1, 2), num_res_blocks=2, attn_resolutions=(4,),
          dropout=0.0, norm_groups=32, conv='auto', remat='none',
          # The MLP, over a VAE's latent vector (mlp_hidden even: the time sinusoids).
          mlp_hidden=256, mlp_blocks=3,
          conditional=False, label_dropout=0.1),
      objective=dict(schedule='scaled_linear', timesteps=1000, beta_start=0.0015,
                     beta_end=0.0195, prediction='eps', variance='fixedlarge',
                     scale_factor=0.0),  # 0: 1/std of the first batch's latents
      data=dict(
          stage1_workdir='',  # a finished VAE or VQ-VAE run
          stage1_family='vqvae',  # 'vqvae' | 'vae': the family that run is
          # With stage1_workdir empty, the main first trains this stage 1 into
          # <workdir>/stage1: configs/<stage1_family>.py's variants, as after
          # `--config=configs/vqvae.py:` ('smoke'); '': none.
          stage1_config='',
          **STAGE1_DATA_FIELDS),  # the images stage 1 read: '' and 0 take the run's
      eval_=dict(
          nll_timesteps=8,  # periodic bound (VAE) from k terms, unbiased; 0: all T
          final_nll_timesteps=32,  # the final test bound; 0: all T terms exactly
          test_examples=0,  # 0: the whole test set
          num_samples=64,  # DDIM samples decoded for the figure
          ddim_steps=50,
          ddim_eta=0.0,
          class_grid_per_class=6))


# The bound's network calls per image that `genjax.load`'s score takes by default.
SCORE_TIMESTEPS = 32


def _denoiser(m, latent_shape, num_classes: int, dtype: str = 'float32',
              remat: str = 'none'):
  """The U-Net over a latent grid [h, w, D], the MLP over a latent vector [d]."""
  if len(latent_shape) == 3:
    return unet.make_model(m, num_classes, dtype, remat)
  return mlp_denoiser.make_model(m.mlp_hidden, m.mlp_blocks,
                                 num_classes if m.conditional else 0, dtype)


def build(config: ml_collections.ConfigDict, info) -> Family:
  m, o, e = config.model, config.objective, config.eval
  stage1 = load_latent_stage1(config.data.stage1_workdir, config.data.stage1_family)
  shape, vae = stage1.latent_shape, stage1.family == 'vae'
  schedule = sch.schedule_of(o)
  k = info.num_classes
  model = _denoiser(m, shape, k)
  train_model = _denoiser(m, shape, k, config.compute_dtype, m.remat)
  null = lambda n: jnp.full((n,), k, jnp.int32) if m.conditional else None
  pixels = math.prod(stage1.image_shape)
  scale_of = lambda context: context.model_state['scale_factor']

  def init_params(rng, batch):
    del batch
    return model.init(rng, jnp.zeros((1,) + shape), jnp.zeros((1,), jnp.int32), null(1))

  def init_model_state(rng, batch, params):
    """Rombach et al.'s scale_by_std on the first training batch, or the fixed factor."""
    del params
    if o.scale_factor > 0:
      return {'scale_factor': jnp.float32(o.scale_factor)}
    z = stage1.encode(stage1.frozen, jnp.asarray(batch['image']), rng)
    return {'scale_factor': scale_by_std(z)}

  def latents(context, images, rng):
    """The scaled latents u = s z of a batch's images, through the frozen stage 1."""
    z = stage1.encode(context.frozen, images, rng)
    return scale_of(context) * jax.lax.stop_gradient(z)

  def loss_fn(params, batch, rng, context):
    encode_rng, drop_rng, label_rng, rng = jax.random.split(rng, 4)
    u = latents(context, batch['image'], encode_rng)
    y = None
    if m.conditional:
      keep = jax.random.uniform(label_rng, batch['label'].shape) >= m.label_dropout
      y = jnp.where(keep, batch['label'], k)
    net = lambda x, t: train_model.apply(params, x, t, y, train=True,
                                         rngs={'dropout': drop_rng})
    loss = objectives.simple_loss_terms(net, schedule, u, rng, o.prediction)
    return jnp.mean(loss), {'latent_std': jnp.std(u)}

  def bound_terms(params, images, rng, context, nll_timesteps: int):
    """A VAE first stage's per-image bound on -log p(x) (p(x) without a label), and the
    VAE's own negative ELBO at the same z, in nats and bits/dim."""
    frozen = context.frozen
    q = stage1.posterior(frozen, images)
    sample_rng, rng = jax.random.split(rng)
    z = q.sample(sample_rng)
    recon = stage1.reconstruction_nll(frozen, images, z)
    net = lambda x, t: model.apply(params, x, t, null(x.shape[0]))
    latent_nll = latent_objectives.latent_nll_bound(net, schedule, z, scale_of(context), rng,
                                                    nll_timesteps, o.prediction, o.variance)
    out = latent_objectives.pixel_bound_terms(recon, latent_nll, q.log_scale, pixels)
    out['vae_elbo_bpd'] = (recon + standard_normal_kl(q)) / (pixels * math.log(2.0))
    return out

  def eval_with(nll_timesteps: int):
    def eval_fn(params, batch, rng, context):
      encode_rng, loss_rng, bound_rng = jax.random.split(rng, 3)
      net = lambda x, t: model.apply(params, x, t, null(x.shape[0]))
      u = latents(context, batch['image'], encode_rng)
      out = bound_terms(params, batch['image'], bound_rng, context, nll_timesteps) if vae else {}
      out['loss'] = objectives.simple_loss_terms(net, schedule, u, loss_rng, o.prediction)
      return out
    return eval_fn

  def denoiser(params, y, w):
    if y is None:
      return lambda x, t: model.apply(params, x, t, null(x.shape[0]))
    return samplers.guided(lambda x, t, labels: model.apply(params, x, t, labels), y, k, w)

  @functools.partial(jax.jit, static_argnames='steps')
  def ddim(params, frozen, scale, x_T, rng, y, w, steps=e.ddim_steps, eta=e.ddim_eta):
    u = samplers.ddim_sample(denoiser(params, y, w), schedule, x_T, rng, steps, eta,
                             o.prediction, clip=False)
    return stage1.decode(frozen, u / scale)

  def draw(params, rng, num, context, y=None, w=0.0, steps=e.ddim_steps, eta=e.ddim_eta):
    noise_rng, step_rng = jax.random.split(rng)
    x_T = jax.random.normal(noise_rng, (num,) + shape)
    return np.asarray(ddim(params, context.frozen, scale_of(context), x_T, step_rng, y,
                           float(w), steps=int(steps), eta=float(eta)))

  def sample(params, rng, num_samples, context, steps=e.ddim_steps, eta=e.ddim_eta,
             label=None, guidance=1.0):
    """DDIM samples of the latents on `steps` of the T timesteps with `eta`, decoded by
    the first stage: images [n, H, W, C] in [0, 1]. Without a label, of p(x) (a
    conditional model's null label); a conditional model draws class `label` (one, or one
    per sample) with classifier-free guidance scale `guidance`."""
    if not 1 <= steps <= o.timesteps:
      raise OptionError(f'steps={steps}: DDIM takes 1..T = {o.timesteps} of the timesteps.')
    y = sample_labels(label, num_samples, k if m.conditional else 0, guidance=guidance,
                      unguided=1.0)
    return draw(params, rng, num_samples, context, y, guidance if y is not None else 0.0,
                steps, eta)

  def encode(params, batch, rng, context):
    """The scaled latents s z the diffusion model sees: a VAE's posterior as its mean and
    standard deviation (times s), a VQ-VAE's s z_e."""
    del params, rng
    images = jnp.asarray(batch['image'], jnp.float32)
    if vae:
      q = stage1.posterior(context.frozen, images)
      return {'mean': scale_of(context) * q.mean, 'std': scale_of(context) * q.scale}
    return scale_of(context) * stage1.encode(context.frozen, images, None)

  def decode(params, latents_, context):
    """Scaled latents s z back to the first stage's decoded images in [0, 1]."""
    del params
    return stage1.decode(context.frozen, jnp.asarray(latents_) / scale_of(context))

  likelihood = None
  if vae:
    def nll(params, batch, rng, context, timesteps):
      """The bound on -log p(x) in nats from `timesteps` network calls per image of the
      latent bound (0: all T terms exactly; k > 0: an unbiased estimate)."""
      images = jnp.asarray(batch['image'], jnp.float32)
      return bound_terms(params, images, rng, context, timesteps)['bound_nats']

    likelihood = Likelihood(
        nll=nll, exact=False, dims=pixels, options={'timesteps': SCORE_TIMESTEPS},
        description="E_q[-log p(x|z)] + E_q[L(s z) - d log s] - H[q(z|x)]: the VAE's "
        'reconstruction, the latent DDPM bound (Gaussian decoder at t = 1) and the '
        "posterior's entropy, at one z ~ q(z|x)")
  sample_options = {'steps': e.ddim_steps, 'eta': e.ddim_eta}
  if m.conditional:
    sample_options.update(label=None, guidance=1.0)

  def artifacts_fn(params, rng, context):
    rngs = jax.random.split(rng, 2)
    out = {'samples': draw(params, rngs[0], e.num_samples, context),
           'scale_factor': np.float64(scale_of(context))}
    if m.conditional:
      y = jnp.repeat(jnp.arange(k, dtype=jnp.int32), e.class_grid_per_class)
      out['class_grid'] = draw(params, rngs[1], len(y), context, y, 1.0)
      out['class_grid_labels'] = np.asarray(y)
    return out

  return Family(
      name='latent_diffusion',
      signature={'model': {f: v for f, v in m.to_dict().items() if f not in ('conv', 'remat')},
                 'objective': o.to_dict(), 'stage1_family': stage1.family,
                 'latent_shape': list(shape), 'image_shape': list(stage1.image_shape)},
      training=Training(init_params=init_params, loss_fn=loss_fn,
                        init_model_state=init_model_state, frozen=stage1.frozen,
                        upstream=stage1.run.record()),
      reporting=Reporting(
          eval_fn=eval_with(e.nll_timesteps),
          final_eval_fn=eval_with(e.final_nll_timesteps),
          artifacts_fn=artifacts_fn if info.test_images is not None else None,
          render_figures=figures.render_run,
          eval_examples=e.test_examples),
      inference=Inference(sample=sample, sample_options=sample_options,
                          likelihood=likelihood, encode=encode, decode=decode))


RANGES = {
    **unet.RANGES,
    'model.mlp_hidden': 'positive',
    'model.mlp_blocks': 'non_negative',
    'model.label_dropout': 'unit_interval',
    'objective.schedule': sch.SCHEDULES,
    'objective.timesteps': 'positive',
    'objective.beta_start': 'unit_interval',
    'objective.beta_end': 'unit_interval',
    'objective.prediction': ('eps', 'x0', 'v'),
    'objective.variance': ('fixedlarge', 'fixedsmall'),
    'objective.scale_factor': 'non_negative',
    'data.stage1_family': FAMILIES,
    'eval.nll_timesteps': 'non_negative',
    'eval.final_nll_timesteps': 'non_negative',
    'eval.num_samples': 'positive',
    'eval.ddim_steps': 'positive',
    'eval.ddim_eta': 'non_negative',
    'eval.class_grid_per_class': 'positive',
}

FAMILY = FamilyDef(name='latent_diffusion', schema=schema, build=build,
                   data=latent_diffusion_data, ranges=RANGES,
                   compute_dtypes=config_lib.COMPUTE_DTYPES)
