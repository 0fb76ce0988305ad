"""The two sides of benchmarks/diffusion_throughput.py, each built from one diffusion config.

`GenjaxDiffusion` builds the train step exactly as `genjax.training.loop` does (family,
optimizer from the config, `gradient_update`, `make_train_step`) and the samplers from
`genjax.samplers.diffusion`; everything is compiled ahead of time so that compilation is
reported apart from the timings. `TorchDiffusion` is benchmarks/torch_unet.py with the
same config, schedule, initial weights and data. Each hands out `Measure`s: a
`run_n(n)` that blocks until n calls are done, and how many images one call produces.
"""

from __future__ import annotations

import copy
import dataclasses
import itertools
import time
from typing import Callable

import numpy as np

import jax
import jax.numpy as jnp
import torch

from benchmarks import torch_unet
from configs import diffusion as diffusion_config
from genjax import config as config_lib
from genjax.data import DatasetNotFoundError, ImageArrays, TrainStream, load_image_dataset
from genjax.diffusion import schedules as sch
from genjax.models.unet import UNet
from genjax.samplers import diffusion as samplers
from genjax.training import mesh as mesh_lib
from genjax.families import diffusion as diffusion_family
from genjax.data.family_data import DataInfo
from genjax.training.optimizers import make_optimizer
from genjax.training.state import create_train_state, eval_params
from genjax.training.step import make_train_step
from genjax.training.update import gradient_update

TRAIN_CALLS = 3  # distinct preloaded calls' worth of batches that timed calls cycle through


@dataclasses.dataclass
class Measure:
  run_n: Callable[[int], None]
  images_per_call: int
  n: int = 1  # calls per timed run, kept between repeats once calibrated


def benchmark_config(args):
  """configs/diffusion.py's config for the variant, with the command line's overrides."""
  c = diffusion_config.get_config(args.config_variant or None)
  ints = lambda s: tuple(int(v) for v in s.split(',') if v.strip())
  overrides = {
      ('model', 'channels'): args.channels,
      ('model', 'channel_mults'): args.mults and ints(args.mults),
      ('model', 'num_res_blocks'): args.res_blocks,
      ('model', 'attn_resolutions'): (None if args.attn_resolutions is None
                                      else ints(args.attn_resolutions)),
      ('model', 'norm_groups'): args.norm_groups,
      ('objective', 'timesteps'): args.timesteps,
      ('eval', 'ddim_steps'): args.ddim_steps,
      (None, 'batch_size'): args.batch,
      (None, 'steps_per_call'): args.steps_per_call,
      ('model', 'conv'): getattr(args, 'conv', None),
  }
  for (section, field), value in overrides.items():
    if value is not None:
      setattr(c[section] if section else c, field, value)
  c.eval.frechet_samples = 0  # a benchmark times steps; it never needs the classifier
  config_lib.validate(c, diffusion_family.schema())
  return c


@dataclasses.dataclass(frozen=True)
class TrainArrays:
  train: ImageArrays
  test: ImageArrays


def load_train_arrays(config) -> tuple[TrainArrays, str]:
  """The config's dataset as the loop loads it, or random grey levels when it is missing."""
  try:
    train, test = (load_image_dataset(config.data.name, split) for split in ('train', 'test'))
    return TrainArrays(train, test), (f'{config.data.name} train {train.images.shape} '
                                      f'({train.source})')
  except DatasetNotFoundError:
    rng = np.random.default_rng(0)
    fake = lambda split, n: ImageArrays(
        'random', split, rng.integers(0, 256, (n, 28, 28, 1), dtype=np.uint8),
        rng.integers(0, 10, (n,), dtype=np.int32), 'random')
    return (TrainArrays(fake('train', 2048), fake('test', 64)),
            f'RANDOM grey levels ({config.data.name} not found)')


def unet_kwargs(config, num_classes: int) -> dict:
  """The U-Net's arguments, as families/diffusion.py derives them from the config."""
  m = config.model
  return dict(channels=m.channels, channel_mults=tuple(m.channel_mults),
              num_res_blocks=m.num_res_blocks, attn_resolutions=tuple(m.attn_resolutions),
              dropout=m.dropout, norm_groups=m.norm_groups,
              num_classes=num_classes if m.conditional else 0)


def _compiled(fn, *example_args):
  t0 = time.perf_counter()
  compiled = fn.lower(*example_args).compile()
  return compiled, time.perf_counter() - t0


class GenjaxDiffusion:
  """The loop's train step and the library's samplers for one config."""

  def __init__(self, config, arrays: TrainArrays):
    self.config = config
    self.compile_seconds: dict[str, float] = {}
    mesh = mesh_lib.make_mesh()
    mesh_lib.check_divides(config.batch_size, mesh)
    stream = TrainStream(arrays.train, global_batch_size=config.batch_size,
                         seed=config.seed, binarize=config.data.binarize)
    self.image_shape = tuple(arrays.train.images.shape[1:])
    self.num_classes = arrays.train.num_classes
    family = diffusion_family.build(config, DataInfo(
        num_train=stream.num_examples, num_classes=self.num_classes,
        example_shape=self.image_shape, test_images=arrays.test))
    optimizer = make_optimizer(config.optimizer)
    init_rng, state_rng = jax.random.split(jax.random.PRNGKey(config.seed))
    example = stream.batch(0)
    self.state = jax.jit(
        lambda r: create_train_state(family.init_params(r, example), optimizer, state_rng,
                                     ema=config.ema_decay > 0),
        out_shardings=mesh_lib.replicated(mesh))(init_rng)
    # Host copies: the train step donates the state, and torch starts from these weights.
    self.init_params = jax.device_get(self.state.params)
    self.num_params = sum(a.size for a in jax.tree.leaves(self.init_params))

    k = config.steps_per_call
    self.stacked = [stream.stacked(c * k, k) for c in range(TRAIN_CALLS)]
    self.batches = [mesh_lib.global_batch(b, mesh, batch_axis=1) for b in self.stacked]
    jax.block_until_ready(self.batches)
    update = gradient_update(family.loss_fn, optimizer, config.ema_decay)
    self.step, self.compile_seconds['train'] = _compiled(
        make_train_step(update, mesh, unroll=config.unroll_steps), self.state, self.batches[0])
    self.model = UNet(**unet_kwargs(config, self.num_classes), conv=config.model.conv)
    self.schedule = sch.make_schedule(config.objective.schedule, config.objective.timesteps,
                                      config.objective.beta_start, config.objective.beta_end)
    self.metrics = None

  def train_measure(self) -> Measure:
    calls = itertools.count()

    def run_n(n):
      state = self.state
      for _ in range(n):
        state, self.metrics = self.step(state, self.batches[next(calls) % TRAIN_CALLS], None)
      self.state = jax.block_until_ready(state)

    return Measure(run_n, self.config.steps_per_call * self.config.batch_size)

  def sample_measure(self, kind: str, batch: int) -> Measure:
    """DDPM over all T steps or DDIM over eval.ddim_steps, jitted whole, EMA weights."""
    o, e = self.config.objective, self.config.eval
    denoise = lambda p: (lambda x, t: self.model.apply(p, x, t))  # no label: p(x)
    if kind == 'DDPM':
      fn = lambda p, x, r: samplers.ddpm_sample(
          denoise(p), self.schedule, x, r, prediction=o.prediction, variance=o.variance)
    else:
      fn = lambda p, x, r: samplers.ddim_sample(
          denoise(p), self.schedule, x, r, num_steps=e.ddim_steps, eta=e.ddim_eta,
          prediction=o.prediction)
    params = jax.tree.map(jnp.copy, eval_params(self.state))  # the state is donated
    noise_rng, rng = jax.random.split(jax.random.PRNGKey(1))
    x_T = jax.random.normal(noise_rng, (batch,) + self.image_shape)
    sample, self.compile_seconds[kind] = _compiled(jax.jit(fn), params, x_T, rng)

    def run_n(n):
      jax.block_until_ready([sample(params, x_T, jax.random.fold_in(rng, i))
                             for i in range(n)])

    return Measure(run_n, batch)

  def check_finite(self) -> None:
    if not np.asarray(self.metrics['finite']).all():
      raise FloatingPointError('non-finite loss in the genjax benchmark step')
    self.last_loss = float(np.asarray(self.metrics['loss'])[-1])


class TorchDiffusion:
  """benchmarks/torch_unet.py on the same config, schedule, initial weights and batches."""

  def __init__(self, config, arrays: TrainArrays, genjax_side: GenjaxDiffusion,
               threads: int):
    o, e = config.objective, config.eval
    if o.prediction != 'eps':
      raise ValueError(f"The torch side implements eps-prediction only, not "
                       f"'{o.prediction}'; use --skip-torch.")
    torch_unet.set_threads(threads, config.seed)
    h, _, c = genjax_side.image_shape
    self.model = torch_unet.TorchUNet(
        image_channels=c, image_size=h, **unet_kwargs(config, genjax_side.num_classes))
    self.num_params = torch_unet.count_params(self.model)
    if self.num_params != genjax_side.num_params:
      raise ValueError(f'the torch U-Net has {self.num_params:,} parameters, genjax\'s '
                       f'{genjax_side.num_params:,}: they are not the same network')
    self._check_forward(genjax_side)
    torch_unet.load_flax_params(self.model, genjax_side.init_params)

    s = genjax_side.schedule
    t_all = jnp.arange(s.num_timesteps)
    self.schedule = torch_unet.Schedule(
        s.alphas_cumprod, s.alphas_cumprod_prev, s.posterior_mean_coef_x0,
        s.posterior_mean_coef_xt, sch.model_log_variance(s, t_all, t_all, o.variance))
    self.ddim_timesteps = samplers.ddim_timesteps(s.num_timesteps, e.ddim_steps)
    self.ddim_eta = e.ddim_eta
    self.trainer = torch_unet.DiffusionTrainer(
        self.model, self.schedule, learning_rate=config.optimizer.learning_rate,
        grad_clip_norm=config.optimizer.grad_clip_norm, ema_decay=config.ema_decay,
        label_dropout=config.model.label_dropout)
    # The genjax side's batches, one step each, as preloaded NCHW tensors in model space.
    images = np.concatenate([b['image'] for b in genjax_side.stacked])
    self.images = torch.from_numpy(2 * images.transpose(0, 1, 4, 2, 3) - 1).contiguous()
    labels = np.concatenate([b['label'] for b in genjax_side.stacked])
    self.labels = (torch.from_numpy(labels.astype(np.int64)) if config.model.conditional
                   else None)
    self.shape = (c, h, genjax_side.image_shape[1])
    self.batch_size = config.batch_size
    self._train_steps(2)  # warm-up: allocator, thread pool, Adam and EMA state

  def _check_forward(self, genjax_side: GenjaxDiffusion):
    """Both forward passes on the same weights and inputs. The initial weights zero every
    block's last layer (the output is 0), so the check perturbs all of them first."""
    rng = np.random.default_rng(0)
    params = jax.tree.map(
        lambda a: (a + 0.05 * rng.standard_normal(a.shape)).astype(a.dtype),
        genjax_side.init_params)
    twin = copy.deepcopy(self.model).eval()
    torch_unet.load_flax_params(twin, params)
    h, w, c = genjax_side.image_shape
    x = rng.standard_normal((2, h, w, c)).astype(np.float32)
    t = np.array([0, genjax_side.config.objective.timesteps - 1])
    ours = np.asarray(genjax_side.model.apply(params, x, t))
    with torch.inference_mode():
      theirs = twin(torch.from_numpy(x.transpose(0, 3, 1, 2)), torch.from_numpy(t))
    self.forward_max_abs_diff = float(np.abs(ours - theirs.numpy().transpose(0, 2, 3, 1)).max())
    self.forward_max_abs = float(np.abs(ours).max())

  def _train_steps(self, n: int, start: int = 0):
    for i in range(start, start + n):
      j = i % len(self.images)
      self.trainer.step(self.images[j], None if self.labels is None else self.labels[j])

  def train_measure(self) -> Measure:
    done = [0]

    def run_n(n):
      self._train_steps(n, done[0])
      done[0] += n

    return Measure(run_n, self.batch_size)

  def sample_measure(self, kind: str, batch: int) -> Measure:
    net = self.trainer.ema.module if self.trainer.ema is not None else self.model
    x_T = torch.randn((batch,) + self.shape)
    with torch.inference_mode():
      net.eval()(x_T, torch.zeros(batch, dtype=torch.long))  # warm-up at this batch size
    if kind == 'DDPM':
      sample = lambda: torch_unet.ddpm_sample(net, self.schedule, x_T)
    else:
      sample = lambda: torch_unet.ddim_sample(net, self.schedule, x_T, self.ddim_timesteps,
                                              self.ddim_eta)

    def run_n(n):
      for _ in range(n):
        sample()

    return Measure(run_n, batch)
