"""The GAN family: DCGAN's two networks in one train state, each with its own optimiser.

One train step is one discriminator step and one generator step, as pytorch/examples'
`dcgan` takes them: G draws a batch once; D steps on the real batch and that fake batch
(held fixed); then G steps against the updated D, its gradient pulled back through the
same forward pass (a VJP), so G runs forward once a step. Both networks use the config's
`optimizer` (DCGAN: Adam 2e-4 with beta1 0.5) and BatchNorm statistics in `model_state`.
With `ema_decay > 0` the generator's weights are averaged (the discriminator is carried
as it is); samples come from the averaged generator, whose BatchNorm statistics are
measured on a batch of latents (`dcgan.calibrate`), and every sample is drawn with
running statistics, so it does not depend on the rest of its batch.

Evaluation: D's output on the test set every `eval_every`; at every figure interval and
at the end, the Fréchet distance of `eval.frechet_samples` samples against the test set
(the classifier's features, as the DDPM) beside the floor of as many training images, and
mode coverage: the classifier's class histogram of the samples and its KL to uniform.
The Parzen-window score of Goodfellow et al. is `experiments/gan_parzen.py`.

The train step computes both networks in config.compute_dtype (`genjax.models.dcgan`:
BatchNorm statistics, G's images, D's logits and both losses stay float32); evaluation
and sampling compute in float32.

Inference (`genjax.load`): samples as the figures draw them (the averaged generator, its
BatchNorm statistics measured afresh), a conditional GAN's of class `label`. A GAN scores
no likelihood: its generator has no density to evaluate.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import optax

from genjax import config as config_lib
from genjax.errors import OptionError
from genjax.data.image_data import image_data
from genjax.evals import frechet_setup
from genjax.figures import gan as figures
from genjax.metrics import mode_coverage
from genjax.models import dcgan
from genjax.objectives import gan as objectives
from genjax.samplers.gan import Sampler
from genjax.training.family import (Family, FamilyDef, Inference, Reporting, Training,
                                    model_signature)
from genjax.training.optimizers import apply_optimizer, make_optimizer
from genjax.training.update import ema_update

NUM_PROGRESS = 10  # fixed latents whose samples the figure follows over training


def schema() -> ml_collections.ConfigDict:
  c = config_lib.with_family_schema(
      model=dict(
          latent_dim=100,
          latent='normal',  # z ~ N(0, I) | 'uniform': U(-1, 1), Radford et al.'s
          channels=64,  # D's first and G's last hidden width; each coarser layer 2x
          conditional=False,  # p(x|y): class embedding into G, projection into D
          spectral_norm=False),  # spectral norm on every layer of D (which drops BatchNorm)
      objective=dict(
          generator_loss='non_saturating',  # | 'minimax'
          r1_gamma=0.0),  # > 0: the R1 penalty (gamma / 2) E ||grad_x D(x)||^2 on real data
      eval_=dict(
          test_examples=0,  # D on the test set; 0: the whole test set
          num_samples=64,
          samples_per_class=10,  # conditional models: a class grid
          interpolations=8,  # rows of the latent interpolation
          interpolation_steps=10,
          calibration_samples=2048,  # latents measuring the EMA generator's BatchNorm
          frechet_samples=1000,  # scored against the test set; 0: none
          # The FD's feature space (eval.features); mode coverage reads eval.classifier.
          **frechet_setup.FIELDS))
  c.data.validation_examples = 1000  # held out of training, for the Parzen window
  return c


def check_config(config: ml_collections.ConfigDict, frechet: bool = True) -> None:
  """Refuses binarised data and, with `frechet`, a Fréchet distance asked for without its
  classifier (a model built without its data scores nothing, and needs none)."""
  if config.data.binarize != 'none':
    raise config_lib.ConfigError('The GAN models 8-bit pixels as reals in [-1, 1]; set '
                                 '--config.data.binarize=none.')
  if frechet:
    frechet_setup.check(config.eval, config.data.channels)  # FD and mode coverage


class DCGAN(dcgan.DCGANNetworks):
  """The networks (`genjax.models.dcgan.DCGANNetworks`), their optimisers and the two
  half-steps of one train step."""

  def __init__(self, m, o, image_shape, num_classes: int, optimizer_config=None,
               ema_decay=0.0, dtype: str = 'float32'):
    super().__init__(m, image_shape, num_classes, dtype)
    self.optimizer = None if optimizer_config is None else {  # None: a reader, no training
        'generator': make_optimizer(optimizer_config),
        'discriminator': make_optimizer(optimizer_config)}
    self.generator_loss = o.generator_loss
    self.r1_gamma = o.r1_gamma
    self.ema_decay = ema_decay

  def labels(self, batch):
    return batch['label'] if self.num_classes else None

  def _example(self, batch):
    """(z, x, y) of one example, the shapes both networks are built for."""
    y = None if not self.num_classes else jnp.asarray(batch['label'][:1])
    return jnp.zeros((1, self.latent_dim)), jnp.asarray(batch['image'][:1]), y

  def init_params(self, rng, batch):
    """Each network's params."""
    g_rng, d_rng = jax.random.split(rng)
    z, x, y = self._example(batch)
    return {'generator': self.generator.init(g_rng, z, y, train=False)['params'],
            'discriminator': self.discriminator.init(d_rng, x, y, train=False)['params']}

  def init_statistics(self, rng, batch, params):
    """Each network's BatchNorm (and spectral-norm) statistics for `params`: one forward
    pass each, which creates the missing variables of the mutable collection, instead of
    a second init of both networks."""
    g_rng, d_rng = jax.random.split(rng)
    z, x, y = self._example(batch)
    _, g = self.generator.apply({'params': params['generator']}, z, y, train=False,
                                mutable=['batch_stats'], rngs={'params': g_rng})
    _, d = self.discriminator.apply({'params': params['discriminator']}, x, y, train=False,
                                    mutable=['batch_stats'], rngs={'params': d_rng})
    return {'generator': g['batch_stats'], 'discriminator': d.get('batch_stats', {})}

  def _d_logits(self, d_params, d_stats, x, y):
    logits, updated = self.train_discriminator.apply(
        {'params': d_params, 'batch_stats': d_stats}, x, y, train=True,
        mutable=['batch_stats'])
    return logits, updated['batch_stats']

  def generator_forward(self, state, z, y):
    """G's fake batch in train mode, the VJP that pulls a gradient in it back to G's
    params, and G's new BatchNorm statistics."""
    stats = state.model_state['generator']

    def forward(g_params):
      fake, updated = self.train_generator.apply({'params': g_params, 'batch_stats': stats},
                                                 z, y, train=True, mutable=['batch_stats'])
      return fake, updated['batch_stats']

    return jax.vjp(forward, state.params['generator'], has_aux=True)

  def discriminator_step(self, state, x, y, fake):
    """One D step on the real batch x and a fake batch (held fixed); G and its optimiser
    state are returned bitwise as they came."""
    fake = jax.lax.stop_gradient(fake)

    def loss_fn(d_params):
      stats = state.model_state['discriminator']
      if self.r1_gamma > 0:
        r1, (real, stats) = objectives.r1_penalty(
            lambda x: self._d_logits(d_params, stats, x, y), x)
      else:
        r1 = jnp.zeros(())
        real, stats = self._d_logits(d_params, stats, x, y)
      forged, stats = self._d_logits(d_params, stats, fake, y)
      loss = objectives.discriminator_loss(real, forged)
      return loss + self.r1_gamma * r1, (loss, r1, real, forged, stats)

    (_, (loss, r1, real, forged, stats)), grads = jax.value_and_grad(
        loss_fn, has_aux=True)(state.params['discriminator'])
    params, opt_state = apply_optimizer(self.optimizer, {'discriminator': grads},
                                        state.opt_state, state.params, only=('discriminator',))
    state = state.replace(params=params, opt_state=opt_state,
                          model_state={**state.model_state, 'discriminator': stats})
    metrics = {'d_loss': loss, 'd_real': jnp.mean(jax.nn.sigmoid(real)),
               'd_fake': jnp.mean(jax.nn.sigmoid(forged)), 'd_grad_norm': optax.tree.norm(grads)}
    if self.r1_gamma > 0:
      metrics['r1'] = r1
    return state, metrics

  def generator_step(self, state, fake, pullback, y):
    """One G step against the current D through the fake batch's VJP; D's params and
    optimiser state are unchanged (its BatchNorm statistics see the batch)."""

    def loss_fn(fake):
      logits, stats = self._d_logits(state.params['discriminator'],
                                     state.model_state['discriminator'], fake, y)
      return objectives.generator_loss(logits, self.generator_loss), (logits, stats)

    (loss, (logits, stats)), fake_grad = jax.value_and_grad(loss_fn, has_aux=True)(fake)
    (grads,) = pullback(fake_grad)
    params, opt_state = apply_optimizer(self.optimizer, {'generator': grads}, state.opt_state,
                                        state.params, only=('generator',))
    # |d loss_i / d G(z_i)| per sample: the loss is a mean, so each sample's own term's
    # gradient is the batch size times its share. It vanishes for the minimax loss as D
    # wins.
    per_sample = len(fake) * jnp.sqrt(jnp.sum(jnp.square(fake_grad.reshape(len(fake), -1)),
                                              axis=-1))
    state = state.replace(params=params, opt_state=opt_state,
                          model_state={**state.model_state, 'discriminator': stats})
    return state, {'g_loss': loss, 'd_fake_after': jnp.mean(jax.nn.sigmoid(logits)),
                   'g_grad_norm': optax.tree.norm(grads),
                   'g_output_grad': jnp.mean(per_sample)}

  def update_fn(self, state, batch, rng, frozen):
    del frozen
    x = 2.0 * batch['image'] - 1.0
    y = self.labels(batch)
    z = self.latents(rng, x.shape[0])
    fake, pullback, g_stats = self.generator_forward(state, z, y)
    state = state.replace(model_state={**state.model_state, 'generator': g_stats})
    state, d_metrics = self.discriminator_step(state, x, y, fake)
    state, g_metrics = self.generator_step(state, fake, pullback, y)
    if state.ema_params is not None:
      state = state.replace(ema_params={
          'generator': ema_update(state.ema_params['generator'], state.params['generator'],
                                  self.ema_decay),
          'discriminator': state.params['discriminator']})
    return state, {'loss': d_metrics['d_loss'] + g_metrics['g_loss'], **d_metrics,
                   **g_metrics}


def lerp(a: jax.Array, b: jax.Array, steps: int) -> jax.Array:
  """Linear interpolation [steps, D] from a to b: stays inside a uniform latent's cube."""
  t = jnp.linspace(0.0, 1.0, steps)[:, None]
  return (1 - t) * a + t * b


def slerp(a: jax.Array, b: jax.Array, steps: int) -> jax.Array:
  """Spherical interpolation [steps, D] from a to b (latents of a Gaussian lie near a
  sphere, so a straight line would pass through its improbable centre)."""
  t = jnp.linspace(0.0, 1.0, steps)[:, None]
  cos = jnp.sum(a * b) / (jnp.linalg.norm(a) * jnp.linalg.norm(b))
  omega = jnp.arccos(jnp.clip(cos, -1.0, 1.0))
  so = jnp.sin(omega)
  return (jnp.sin((1 - t) * omega) * a + jnp.sin(t * omega) * b) / jnp.where(so > 1e-6, so, 1.0)


def build(config: ml_collections.ConfigDict, info) -> Family:
  m, o, e = config.model, config.objective, config.eval
  # Built without the data (genjax.load): no figures, no Fréchet distance or its floor.
  with_data = info.test_images is not None
  check_config(config, frechet=with_data)
  gan = DCGAN(m, o, info.image_shape, info.num_classes, config.optimizer, config.ema_decay,
              config.compute_dtype)
  sampler = Sampler(gan, e.calibration_samples, calibrate=config.ema_decay > 0)
  k = gan.num_classes
  # Fixed latents, the same at every figure interval, so the figures follow them.
  fixed = jax.random.split(jax.random.PRNGKey(config.seed + 1), 3)
  progress_z = gan.latents(fixed[0], max(e.num_samples, NUM_PROGRESS))
  ends = gan.latents(fixed[1], 2 * e.interpolations).reshape(2, e.interpolations, -1)
  between = slerp if m.latent == 'normal' else lerp
  interp_z = jax.vmap(lambda a, b: between(a, b, e.interpolation_steps))(ends[0], ends[1])
  grid_y = jnp.repeat(jnp.arange(k), e.samples_per_class) if k else None
  grid_z = jnp.tile(gan.latents(fixed[2], e.samples_per_class), (k, 1)) if k else None

  scorer = logits_of = None
  floor = {}
  frechet = (frechet_setup.setup(e, info.test_images.images, with_logits=True)
             if with_data else None)
  if frechet is not None:
    scorer, logits_of = frechet.scorer, frechet.logits_of
    real = frechet_setup.floor_images(config.data, e.frechet_samples, config.seed)
    floor = {'frechet_floor': np.float64(scorer(real))}
    if logits_of is not None:  # mode coverage needs the data's classes: a classifier's
      hist = mode_coverage.class_histogram(logits_of(real))
      floor['class_kl_floor'] = np.float64(mode_coverage.kl_to_uniform(hist))

  def eval_fn(params, batch, rng, context):
    del rng
    logits = gan.discriminator.apply(
        {'params': params['discriminator'],
         'batch_stats': context.model_state['discriminator']},
        2.0 * batch['image'] - 1.0, gan.labels(batch), train=False)
    return {'d_test': jax.nn.sigmoid(logits), 'd_test_loss': jax.nn.softplus(-logits)}

  cycle = lambda n: (jnp.arange(n) % k) if k else None  # classes in turn

  def sample(params, rng, num_samples, context, label=None):
    """Generator samples [n, H, W, C] in [0, 1], with the statistics the figures use; a
    conditional generator's labels are `label` (one, or one per sample), or cycle through
    the classes."""
    y = cycle(num_samples)
    if label is not None:
      if not k:
        raise OptionError('label: this GAN is unconditional (model.conditional=False).')
      y = np.broadcast_to(np.asarray(label, np.int32), (num_samples,))
      if y.min() < 0 or y.max() >= k:
        raise OptionError(f'label={label}: the generator\'s classes are 0..{k - 1}.')
      y = jnp.asarray(y)
    stats_rng, z_rng = jax.random.split(rng)
    gp = params['generator']
    stats = sampler.statistics(gp, context.model_state['generator'], stats_rng)
    return sampler(gp, stats, gan.latents(z_rng, num_samples), y)

  def artifacts_fn(params, rng, context):
    stats_rng, fd_rng = jax.random.split(rng)
    gp = params['generator']
    stats = sampler.statistics(gp, context.model_state['generator'], stats_rng)
    rows, steps = interp_z.shape[:2]
    row_y = None if not k else jnp.repeat(cycle(rows), steps)  # one class along a row
    out = {'samples': sampler(gp, stats, progress_z, cycle(len(progress_z))),
           'interpolation': sampler(gp, stats, interp_z.reshape(rows * steps, -1), row_y
                                    ).reshape((rows, steps) + tuple(info.image_shape))}
    if k:
      out['class_grid'] = sampler(gp, stats, grid_z, grid_y)
      out['class_grid_labels'] = np.asarray(grid_y)
    if scorer is not None:
      z = gan.latents(fd_rng, e.frechet_samples)
      images = sampler(gp, stats, z, cycle(e.frechet_samples))
      out.update(frechet_distance=np.float64(scorer(images)),
                 frechet_samples=np.int64(e.frechet_samples), **floor)
      if logits_of is not None:
        hist = mode_coverage.class_histogram(logits_of(images))
        out.update(class_histogram=hist, class_kl=np.float64(mode_coverage.kl_to_uniform(hist)))
    return out

  return Family(
      name='gan',
      signature={'model': model_signature(m, {'latent': 'normal'}), 'objective': o.to_dict(),
                 'image_shape': list(info.image_shape), 'num_classes': info.num_classes},
      training=Training(init_params=gan.init_params, init_model_state=gan.init_statistics,
                        update_fn=gan.update_fn, make_optimizer=lambda: gan.optimizer),
      reporting=Reporting(eval_fn=eval_fn, artifacts_fn=artifacts_fn if with_data else None,
                          render_figures=figures.render_run,
                          eval_examples=e.test_examples),
      inference=Inference(sample=sample, sample_options={'label': None} if k else {}),
  )


RANGES = {
    'model.latent_dim': 'positive',
    'model.latent': dcgan.LATENTS,
    'model.channels': 'positive',
    'objective.generator_loss': objectives.GENERATOR_LOSSES,
    'objective.r1_gamma': 'non_negative',
    'eval.num_samples': 'positive',
    'eval.samples_per_class': 'positive',
    'eval.interpolations': 'positive',
    'eval.interpolation_steps': 'positive',
    'eval.calibration_samples': 'positive',
    'eval.frechet_samples': 'non_negative',
    'data.validation_examples': 'non_negative',
}

FAMILY = FamilyDef(name='gan', schema=schema, build=build, data=image_data, ranges=RANGES,
                   compute_dtypes=config_lib.COMPUTE_DTYPES)
