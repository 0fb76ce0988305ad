"""Flow matching in pixel space (Lipman et al., 2023; rectified flow, Liu et al., 2023).

The DDPM family's U-Net (`genjax.models.unet`) learns a velocity field v(x, t) by
regression onto the straight path from noise (t = 0) to data (t = 1),
x_t = t x1 + (1 - (1 - sigma_min) t) x0 (`genjax.objectives.flow_matching`); sigma_min = 0
is rectified flow. t is uniform, or logit-normal (Esser et al., 2024) with
objective.time_sampling='logit_normal'. Images from the loop are k/255 in [0, 1]
(config.data.binarize must be 'none'); the model works on x = 2k/255 - 1, as DDPM's.

How time enters the network: the U-Net's sinusoidal embedding reads the float 999 t
(Liu et al.'s convention, `objectives.flow_matching.TIME_SCALE`), the range of the integer
timesteps 0..999 that the DDPM family feeds the same embedding; nothing in the U-Net
rounds it.

Samples integrate dx/dt = v(x, t) from noise at t = 0 to t = 1 (`genjax.samplers.
flow_matching`): Euler or Heun on eval.steps equal steps, or adaptive Dormand-Prince at
eval.rtol / eval.atol, the papers' solver; the figures show how many network evaluations
(NFE) each took. Use config.ema_decay > 0: the loop then evaluates and samples with the
EMA params.

With model.conditional the U-Net also takes a class, dropped to a "no label" class with
probability model.label_dropout in training, so one network gives v(x, t | y) and v(x, t)
and sampling can use classifier-free guidance, v = (1 + w) v(x, t | y) - w v(x, t): w = 0
is the conditional model (DDPM's family counts w from the unconditional one instead). Its
loss and likelihood are reported for p(x) (no label), comparable with unconditional
models.

Likelihood: the exact log-density of the ODE's end point through the instantaneous
change of variables (`genjax.objectives.ode_likelihood`: the probability-flow ODE from
t = 1 back to the standard normal at t = 0, its divergence by Hutchinson's estimator or
exactly), of the 8-bit image dequantised uniformly over its bin; -log p(y) + D ln(255/2)
in nats, bits/dim as the DDPM and Glow families give them
(`objectives.flow_matching.dequantize`). With eval.final_likelihood the final evaluation
reports it as `bpd`.

Reflow (Liu et al., 2023): with data.reflow_teacher naming a finished flow-matching run,
the run trains on data.reflow_pairs pairs (X0, X1) of that run's ODE, X1 its end point from
noise X0 by data.reflow_solver, in place of independent noise and images, starting from
the teacher's weights (`genjax.stage2.reflow`): one round makes the 2-rectified flow, whose
straighter paths take fewer Euler steps. It evaluates on the teacher's images.

Inference (`genjax.load`): samples with options `steps`, `solver` and `noise` (the start
at t = 0, drawn when not given), and `label` and `guidance` for a conditional model; the
likelihood with options `divergence`, `rtol` and `atol` (eval.divergence,
eval.likelihood_rtol and eval.likelihood_atol by default).
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np

from genjax import config as config_lib
from genjax.data.family_data import DataInfo
from genjax.data.image_data import image_data
from genjax.errors import OptionError
from genjax.evals import frechet_setup
from genjax.figures import flow_matching as figures
from genjax.models import conv
from genjax.models import unet
from genjax.models.unet import make_model
from genjax.objectives import flow_matching as objectives
from genjax.objectives import ode_likelihood
from genjax.objectives.diffusion import to_model_space, to_unit_interval
from genjax.samplers import flow_matching as samplers
from genjax.samplers.labels import sample_labels
from genjax.stage2 import reflow
from genjax.training.family import (Family, FamilyDef, Inference, Likelihood, Reporting,
                                    Training)

DIVERGENCES = ode_likelihood.DIVERGENCES


def schema() -> ml_collections.ConfigDict:
  s = config_lib.with_family_schema(
      model=dict(channels=64, channel_mults=(1, 2, 2), num_res_blocks=2,
                 attn_resolutions=(7,), dropout=0.1, norm_groups=32, conditional=False,
                 label_dropout=0.1,
                 conv='auto',  # convolution formulation: 'auto' | 'xla' | 'taps' (models/conv.py)
                 remat='none'),  # blocks recomputed in the backward pass: REMAT
      objective=dict(sigma_min=0.0,  # 0: rectified flow
                     time_sampling='uniform',  # 'uniform' | 'logit_normal'
                     logit_mean=0.0, logit_std=1.0),  # logit_normal's location and scale
      eval_=dict(
          test_examples=0,  # 0: the whole test set
          train_examples=0,
          num_samples=64,  # samples drawn for figures
          solver='adaptive',  # 'euler' | 'heun' | 'adaptive' (Dormand-Prince)
          steps=100,  # the fixed-step solvers' steps
          rtol=1e-5, atol=1e-5,  # the adaptive solver's tolerances
          step_grid=(1, 2, 4, 8),  # Euler steps of the steps figure (beside adaptive)
          step_grid_samples=8,
          guidance_scales=(0.0, 1.0, 3.0),  # classifier-free guidance w, a grid each
          class_grid_per_class=6,
          final_likelihood=True,  # the ODE likelihood (bpd) in the final evaluation
          divergence='hutchinson',  # 'hutchinson' | 'exact'
          likelihood_rtol=1e-5, likelihood_atol=1e-5,
          **frechet_setup.FIELDS,  # its feature space (eval.features) and what it needs
          frechet_samples=0))  # samples scored against the test set; 0: none
  s.data.update(
      reflow_teacher='',  # a finished flow-matching run: train on its pairs (reflow)
      reflow_pairs=10000,  # (noise, end point) pairs drawn from the teacher
      reflow_solver='adaptive',  # the teacher's solver for the pairs: SOLVERS
      reflow_steps=100)  # the fixed-step solvers' steps for the pairs
  return s


def flow_matching_data(config: ml_collections.ConfigDict, process_index: int = 0,
                       process_count: int = 1):
  """The images of config.data, or with data.reflow_teacher the teacher's reflow pairs
  (`genjax.stage2.reflow`), drawn by the teacher's own sampler."""
  d = config.data
  if not d.get('reflow_teacher'):  # runs saved before reflow have no such field
    return image_data(config, process_index, process_count)
  if d.reflow_steps > samplers.MAX_STEPS:
    raise config_lib.ConfigError(f'data.reflow_steps={d.reflow_steps} is more than the solvers '
                                 f'take; set it to at most {samplers.MAX_STEPS}.')
  if d.reflow_pairs < config.batch_size:  # refused before the pairs are drawn, not after
    raise config_lib.ConfigError(f'data.reflow_pairs={d.reflow_pairs} is fewer than a batch '
                                 f'(batch_size={config.batch_size}); draw at least that many.')
  teacher = reflow.load_teacher(d.reflow_teacher)
  reflow.check_same_network(config.model, teacher)
  shape = tuple(teacher.signature['image_shape'])
  sample = build(teacher.config, DataInfo(num_train=0, example_shape=shape)).inference.sample

  def endpoints(rng, x0):
    return sample(teacher.eval_params, rng, len(x0), None, steps=d.reflow_steps,
                  solver=d.reflow_solver, noise=x0)

  pairs = reflow.reflow_pairs(teacher, endpoints, num=d.reflow_pairs, solver=d.reflow_solver,
                              steps=d.reflow_steps, seed=config.seed,
                              write=process_index == 0)
  return reflow.reflow_data(config, teacher, pairs, process_index, process_count)


def build(config: ml_collections.ConfigDict, info) -> Family:
  m, o, e = config.model, config.objective, config.eval
  if config.data.binarize != 'none':
    raise config_lib.ConfigError('A flow-matching model works on grey levels; set '
                                 '--config.data.binarize=none.')
  if e.steps > samplers.MAX_STEPS:
    raise config_lib.ConfigError(f'eval.steps={e.steps} is more than the solvers take; set '
                                 f'--config.eval.steps to at most {samplers.MAX_STEPS}.')
  k = info.num_classes
  # The solvers call the network inside a loop body (`conv.in_loop_body`).
  model = make_model({**m.to_dict(), 'conv': conv.in_loop_body(m.conv)}, k)
  # Training computes in compute_dtype; evaluation and sampling in float32.
  train_model = make_model(m, k, config.compute_dtype, m.remat)
  # Evaluation and every solver call the network through one jit, so it is traced once
  # per batch shape, however often a solver traces its vector field.
  apply = jax.jit(model.apply)
  null = lambda n: jnp.full((n,), k, jnp.int32) if m.conditional else None
  shape = tuple(info.image_shape)
  dims = int(np.prod(shape))
  fm_loss = functools.partial(objectives.loss_terms, sigma_min=o.sigma_min,
                              time_sampling=o.time_sampling, logit_mean=o.logit_mean,
                              logit_std=o.logit_std)
  # The network reads time as 999 t; these take t in [0, 1].
  as_net_time = lambda t: objectives.TIME_SCALE * t

  def init_params(rng, batch):
    if config.data.get('reflow_teacher'):  # Liu et al. start the 2-rectified flow from the teacher
      return jax.tree.map(jnp.asarray, reflow.teacher_weights(config.data.reflow_teacher))
    x = jnp.asarray(batch['image'][:1])
    return model.init(rng, x, jnp.zeros((1,), jnp.float32), null(1))

  def loss_fn(params, batch, rng, context):
    del context
    drop_rng, label_rng, rng = jax.random.split(rng, 3)
    y = None
    if m.conditional:
      y = objectives.drop_labels(label_rng, batch['label'], k, m.label_dropout)
    net = lambda x, t: train_model.apply(params, x, as_net_time(t), y, train=True,
                                         rngs={'dropout': drop_rng})
    # Reflow's batches pair each end point with the noise it came from.
    loss = fm_loss(net, to_model_space(batch['image']), rng, x0=batch.get('noise'))
    return jnp.mean(loss), {}

  def unconditional_velocity(params):
    """v(x, t) of p(x) (a conditional model's null label), t a scalar in [0, 1]."""
    return samplers.velocity_of_net(
        lambda x, s: apply(params, x, s, null(x.shape[0])), objectives.TIME_SCALE)

  def likelihood_nats(params, images01, rng, divergence, rtol=e.likelihood_rtol,
                      atol=e.likelihood_atol):
    """The bound on -log P of 8-bit images from the ODE likelihood of their dequantised
    model-space y, [B] nats, and the likelihood solve's NFE."""
    u_rng, rng = jax.random.split(rng)
    x = to_model_space(images01)
    y = objectives.dequantize(x, jax.random.uniform(u_rng, x.shape))
    log_p, nfe = ode_likelihood.log_likelihood(
        unconditional_velocity(params), y, rng, t_data=1.0, t_noise=0.0,
        divergence=divergence, rtol=rtol, atol=atol)
    return objectives.nats_of_pixels(log_p, dims), nfe

  def eval_with(with_likelihood: bool):
    """The loss of p(x) per example, and with the likelihood its bound in nats and bits/dim
    and the solve's NFE."""
    def eval_fn(params, batch, rng, context):
      del context
      net = lambda x, t: apply(params, x, as_net_time(t), null(x.shape[0]))
      out = {'loss': fm_loss(net, to_model_space(batch['image']), jax.random.fold_in(rng, 1))}
      # The likelihood from `rng` itself: the eval's nll_nats are `nll`'s with that key.
      if with_likelihood:
        nats, nfe = likelihood_nats(params, batch['image'], rng, e.divergence)
        out.update(nll_nats=nats, bpd=objectives.bits_per_dim(nats, dims),
                   likelihood_nfe=jnp.full(nats.shape, nfe, jnp.float32))
      return out
    return eval_fn

  def velocity(params, y, w):
    if y is None:
      return unconditional_velocity(params)
    net = lambda x, s, labels: apply(params, x, s, labels)
    return samplers.velocity_of_net(samplers.guided(net, y, k, w), objectives.TIME_SCALE)

  @functools.partial(jax.jit, static_argnames='solver')
  def solve(params, x_noise, y, w, steps, solver):
    x, nfe = samplers.integrate(velocity(params, y, w), x_noise, solver=solver,
                                steps=steps, rtol=e.rtol, atol=e.atol)
    return to_unit_interval(x), nfe

  def draw(params, x_noise, y=None, w=0.0, steps=e.steps, solver=e.solver):
    """Images in [0, 1] from the noise, and the NFE; one compile per solver."""
    x, nfe = solve(params, x_noise, y, jnp.float32(w), jnp.int32(steps), solver=solver)
    return np.asarray(x), int(nfe)

  draw_noise = lambda rng, n: jax.random.normal(rng, (n,) + shape)

  def sample(params, rng, num_samples, context, steps=e.steps, solver=e.solver,
             label=None, guidance=0.0, noise=None):
    """Samples [n, H, W, C] in [0, 1], the ODE integrated by `solver` ('euler' and
    'heun' on `steps` equal steps; 'adaptive' at the config's tolerances) from `noise`
    [n, H, W, C] at t = 0, or from noise drawn with `rng`. Without a label, of p(x) (a
    conditional model's null label); a conditional model draws class `label` (one, or one
    per sample) with classifier-free guidance `guidance` (0: the conditional model)."""
    del context
    samplers.check_options(solver, steps)
    y = sample_labels(label, num_samples, k if m.conditional else 0, guidance=guidance)
    if noise is None:
      noise = draw_noise(rng, num_samples)
    elif np.shape(noise) != (num_samples,) + shape:
      raise OptionError(f'noise of shape {np.shape(noise)}: give one {shape} array a sample, '
                        f'[{num_samples}, {", ".join(map(str, shape))}].')
    return draw(params, jnp.asarray(noise, jnp.float32), y, guidance, steps, solver)[0]

  def nll(params, batch, rng, context, divergence=e.divergence, rtol=e.likelihood_rtol,
          atol=e.likelihood_atol):
    """-log p(y) + D ln(255/2) in nats of the dequantised image y (one draw of the
    dequantisation and of Hutchinson's probe per image, from `rng`), the ODE solved at
    tolerances `rtol` and `atol`."""
    del context
    if divergence not in DIVERGENCES:
      raise OptionError(f'divergence={divergence!r}: choose one of {DIVERGENCES}.')
    if not (rtol > 0 and atol > 0):
      raise OptionError(f'rtol={rtol}, atol={atol}: the tolerances must be positive.')
    return likelihood_nats(params, batch['image'], rng, divergence, rtol, atol)[0]

  sample_options = {'steps': e.steps, 'solver': e.solver, 'noise': None}
  if m.conditional:
    sample_options.update(label=None, guidance=0.0)
  inference = Inference(
      sample=sample, sample_options=sample_options,
      likelihood=Likelihood(
          nll=nll, exact=True, dims=dims,
          options={'divergence': e.divergence, 'rtol': e.likelihood_rtol,
                   'atol': e.likelihood_atol},
          description='the ODE likelihood (probability-flow ODE, adaptive Dormand-Prince at '
          '`rtol`, `atol`) of p(x), its divergence by `divergence` (Hutchinson\'s estimator: '
          'one Rademacher probe per image; or exact), of the 8-bit image dequantised '
          'uniformly over its bin: -log p(y) + D ln(255/2)'))

  if info.test_images is None:  # built without the data (genjax.load): no figures
    artifacts_fn = None
  else:
    artifacts_fn = _artifacts(e, m, k, draw, draw_noise, info.test_images.images)

  return Family(
      name='flow_matching',
      # The conv formulation and remat compute the same function, so a run may resume
      # under another.
      signature={'model': {f: v for f, v in m.to_dict().items() if f not in ('conv', 'remat')},
                 'objective': o.to_dict(),
                 'image_shape': list(shape)},
      training=Training(init_params=init_params, loss_fn=loss_fn),
      reporting=Reporting(
          eval_fn=eval_with(False),
          final_eval_fn=eval_with(True) if e.final_likelihood else None,
          artifacts_fn=artifacts_fn,
          render_figures=figures.render_run,
          eval_examples=e.test_examples,
          train_eval_examples=e.train_examples),
      inference=inference,
  )


def _artifacts(e, m, k, draw, noise, test_images):
  """The figures' arrays: samples with the eval solver, the same noise integrated by
  Euler at each of eval.step_grid and by the adaptive solver, a conditional model's class
  grid at each guidance scale, and the Fréchet distance of samples when asked for."""
  frechet = frechet_setup.setup(e, test_images)
  scorer = None if frechet is None else frechet.scorer

  def artifacts_fn(params, rng, context):
    del context
    rngs = jax.random.split(rng, 4)
    samples, nfe = draw(params, noise(rngs[0], e.num_samples))
    out = {'samples': samples, 'samples_nfe': np.int64(nfe),
           'samples_solver': np.asarray(e.solver)}
    x_noise = noise(rngs[1], e.step_grid_samples)  # the same noise in every row
    rows = [draw(params, x_noise, steps=s, solver='euler') for s in e.step_grid]
    rows.append(draw(params, x_noise, solver='adaptive'))
    out['step_grid'] = np.stack([images for images, _ in rows])
    out['step_grid_noise'] = np.asarray(x_noise)  # each row's x at t = 0
    out['step_grid_nfe'] = np.asarray([n for _, n in rows], np.int64)
    out['step_grid_solvers'] = np.asarray(['euler'] * len(e.step_grid) + ['adaptive'])
    if m.conditional:
      y = jnp.repeat(jnp.arange(k, dtype=jnp.int32), e.class_grid_per_class)
      x_noise = noise(rngs[2], len(y))  # the same noise at every w, so columns compare
      out['class_grid'] = np.stack([draw(params, x_noise, y, w)[0]
                                    for w in e.guidance_scales])
      out['class_grid_labels'] = np.asarray(y)
      out['guidance_scales'] = np.asarray(e.guidance_scales, np.float32)
    if scorer is not None:
      batches = [draw(params, noise(jax.random.fold_in(rngs[3], i),
                                    min(500, e.frechet_samples - start)))[0]
                 for i, start in enumerate(range(0, e.frechet_samples, 500))]
      out['frechet_distance'] = np.float64(scorer(np.concatenate(batches)))
      out['frechet_samples'] = np.int64(e.frechet_samples)  # the score's sample count
    return out

  return artifacts_fn


RANGES = {
    **unet.RANGES,
    'objective.sigma_min': 'unit_interval',
    'objective.time_sampling': objectives.TIME_SAMPLING,
    'objective.logit_std': 'positive',
    'eval.num_samples': 'positive',
    'eval.solver': samplers.SOLVERS,
    'eval.steps': 'positive',
    'eval.rtol': 'positive',
    'eval.atol': 'positive',
    'eval.step_grid': 'positive_each',
    'eval.step_grid_samples': 'positive',
    'eval.class_grid_per_class': 'positive',
    'eval.divergence': DIVERGENCES,
    'eval.likelihood_rtol': 'positive',
    'eval.likelihood_atol': 'positive',
    'eval.frechet_samples': 'non_negative',
    'data.reflow_pairs': 'positive',
    'data.reflow_solver': samplers.SOLVERS,
    'data.reflow_steps': 'positive',
}

FAMILY = FamilyDef(name='flow_matching', schema=schema, build=build, data=flow_matching_data,
                   ranges=RANGES, compute_dtypes=config_lib.COMPUTE_DTYPES)
