"""genjax vs PyTorch DDPM U-Net throughput on this machine's CPU, side by side, in one run.

Command (from the repository root):

  .venv/bin/python -m benchmarks.diffusion_throughput [--out results.json]

What is compared (images/s, best of interleaved repeats):

* training: the loop's own step (benchmarks/loop_step.py, the config's steps_per_call and
  unroll_steps) against benchmarks/torch_unet.py's step (the same eps-prediction loss,
  Adam, clipping and EMA) on the same batches;
* sampling: DDPM over all T timesteps and DDIM over --ddim-steps, each one jitted
  `lax.scan` in genjax (`genjax.samplers.diffusion`) and a Python loop under
  `torch.inference_mode` in torch, both with the EMA weights.

The model is configs/diffusion.py's (--config-variant; --channels, --mults, ... override
fields). The torch U-Net starts from genjax's initial weights, after a check that both
have the same parameter count and forward pass. DDPM is timed on a small batch
(--ddpm-batch). genjax's step and samplers are compiled ahead of time, so compilation is
reported apart. `GenjaxDiffusion` and `TorchDiffusion` also serve benchmarks/unet_profile.py.
"""

from __future__ import annotations

import copy
import itertools
import time

import jax
import jax.numpy as jnp
import numpy as np

from benchmarks import loop_step
from benchmarks.conv_share import conv_flop_share
from benchmarks.harness import (CallTimer, Timer, arguments, begin, best_and_median,
                                command_line, finish, interleaved_repeats)
from configs import diffusion as diffusion_config
from genjax.diffusion import schedules as sch
from genjax.families import diffusion
from genjax.models.unet import make_model
from genjax.samplers import diffusion as samplers
from genjax.training.state import eval_params

TRAIN_CALLS = 3  # distinct calls' worth of batches that timed calls cycle through


def benchmark_config(args):
  """configs/diffusion.py's config for the variant, with the command line's overrides."""
  ints = lambda s: tuple(int(v) for v in s.split(',') if v.strip())
  return loop_step.benchmark_config(diffusion_config.get_config, args.config_variant, **{
      'model.channels': args.channels, 'model.channel_mults': args.mults and ints(args.mults),
      'model.num_res_blocks': args.res_blocks,
      'model.attn_resolutions': (None if args.attn_resolutions is None
                                 else ints(args.attn_resolutions)),
      'model.norm_groups': args.norm_groups, 'objective.timesteps': args.timesteps,
      'eval.ddim_steps': args.ddim_steps, 'batch_size': args.batch,
      'steps_per_call': args.steps_per_call, 'model.conv': getattr(args, 'conv', None)})


class GenjaxDiffusion:
  """The loop's train step and the library's samplers for one config."""

  def __init__(self, config):
    self.config = config
    self.train = loop_step.LoopStep(diffusion.FAMILY, config, calls=TRAIN_CALLS)
    info = self.train.assembled.data.info
    self.image_shape, self.num_classes = tuple(info.image_shape), info.num_classes
    self.num_params = self.train.num_params
    self.compile_seconds = {'train': self.train.compile_s}
    self.conv_flop_shares = {'train': self.train.conv_flop_share.record()}
    self.model = make_model(config.model, self.num_classes)
    self.schedule = sch.schedule_of(config.objective)

  def sample_timer(self, kind: str, batch: int, min_time: float) -> CallTimer:
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
    params = jax.tree.map(jnp.copy, eval_params(self.train.state))  # the state is donated
    noise_rng, rng = jax.random.split(jax.random.PRNGKey(1))
    x_T = jax.random.normal(noise_rng, (batch,) + self.image_shape)
    t0 = time.perf_counter()
    sample = jax.jit(fn).lower(params, x_T, rng).compile()
    self.compile_seconds[kind] = time.perf_counter() - t0
    self.conv_flop_shares[kind] = conv_flop_share(sample).record()
    calls = itertools.count()
    return CallTimer(lambda: sample(params, x_T, jax.random.fold_in(rng, next(calls))), batch,
                     min_time, warm_up=0)


class TorchDiffusion:
  """benchmarks/torch_unet.py on the same config, schedule, initial weights and batches."""

  def __init__(self, config, genjax_side: GenjaxDiffusion, threads: int):
    import torch  # pylint: disable=g-import-not-at-top
    from benchmarks import torch_peer, torch_unet  # pylint: disable=g-import-not-at-top
    self.torch, self.torch_unet = torch, torch_unet
    m, o, e = config.model, config.objective, config.eval
    if o.prediction != 'eps':
      raise ValueError(f"The torch side implements eps-prediction only, not "
                       f"'{o.prediction}'; use --skip-torch.")
    torch_peer.start(threads, config.seed)
    h, _, c = genjax_side.image_shape
    self.model = torch_unet.TorchUNet(
        image_channels=c, image_size=h, channels=m.channels,
        channel_mults=tuple(m.channel_mults), num_res_blocks=m.num_res_blocks,
        attn_resolutions=tuple(m.attn_resolutions), dropout=m.dropout,
        norm_groups=m.norm_groups, num_classes=genjax_side.num_classes if m.conditional else 0)
    self.num_params = torch_unet.count_params(self.model)
    if self.num_params != genjax_side.num_params:
      raise ValueError(f'the torch U-Net has {self.num_params:,} parameters, genjax\'s '
                       f'{genjax_side.num_params:,}: they are not the same network')
    self._check_forward(genjax_side)
    torch_unet.load_flax_params(self.model, genjax_side.train.init_params)

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
        label_dropout=m.label_dropout)
    # The genjax side's batches, one step each, as preloaded NCHW tensors in model space.
    batches = genjax_side.train.batches
    images = np.concatenate([np.asarray(b['image']) for b in batches])
    self.images = torch.from_numpy(2 * images.transpose(0, 1, 4, 2, 3) - 1).contiguous()
    labels = np.concatenate([np.asarray(b['label']) for b in batches])
    self.labels = torch.from_numpy(labels.astype(np.int64)) if m.conditional else None
    self.shape = (c, h, genjax_side.image_shape[1])
    self.batch_size = config.batch_size
    self._train_steps(2)  # warm-up: allocator, thread pool, Adam and EMA state

  def _check_forward(self, genjax_side: GenjaxDiffusion):
    """Both forward passes on the same weights and inputs. The initial weights zero every
    block's last layer (the output is 0), so the check perturbs all of them first."""
    rng = np.random.default_rng(0)
    params = jax.tree.map(
        lambda a: (a + 0.05 * rng.standard_normal(a.shape)).astype(a.dtype),
        genjax_side.train.init_params)
    twin = copy.deepcopy(self.model).eval()
    self.torch_unet.load_flax_params(twin, params)
    h, w, c = genjax_side.image_shape
    x = rng.standard_normal((2, h, w, c)).astype(np.float32)
    t = np.array([0, genjax_side.config.objective.timesteps - 1])
    ours = np.asarray(genjax_side.model.apply(params, x, t))
    with self.torch.inference_mode():
      theirs = twin(self.torch.from_numpy(x.transpose(0, 3, 1, 2)), self.torch.from_numpy(t))
    self.forward_max_abs_diff = float(np.abs(ours - theirs.numpy().transpose(0, 2, 3, 1)).max())
    self.forward_max_abs = float(np.abs(ours).max())

  def _train_steps(self, n: int, start: int = 0):
    for i in range(start, start + n):
      j = i % len(self.images)
      self.trainer.step(self.images[j], None if self.labels is None else self.labels[j])

  def train_timer(self, min_time: float) -> Timer:
    self.done = 0

    def run_n(n):
      self._train_steps(n, self.done)
      self.done += n
    return Timer(run_n, self.batch_size, min_time, warm_up=0)

  def sample_timer(self, kind: str, batch: int, min_time: float) -> Timer:
    net = self.trainer.ema.module if self.trainer.ema is not None else self.model
    x_T = self.torch.randn((batch,) + self.shape)
    with self.torch.inference_mode():
      net.eval()(x_T, self.torch.zeros(batch, dtype=self.torch.long))  # warm-up at this batch
    if kind == 'DDPM':
      sample = lambda: self.torch_unet.ddpm_sample(net, self.schedule, x_T)
    else:
      sample = lambda: self.torch_unet.ddim_sample(net, self.schedule, x_T,
                                                   self.ddim_timesteps, self.ddim_eta)
    return Timer(lambda n: [sample() for _ in range(n)], batch, min_time, warm_up=0)


# ----------------------------------------------------------------------------- main


def parse_args(argv=None):
  p = arguments(__doc__, 3, 5.0)
  p.add_argument('--config-variant', default='',
                 help="configs/diffusion.py variant(s), e.g. 'cosine' ('' = the default)")
  p.add_argument('--channels', type=int, help='U-Net base channels (config: 64)')
  p.add_argument('--mults', help="channel multipliers, e.g. '1,2' (config: 1,2,2)")
  p.add_argument('--res-blocks', type=int, help='residual blocks per level (config: 2)')
  p.add_argument('--attn-resolutions', help="e.g. '7' or '' for none (config: 7)")
  p.add_argument('--norm-groups', type=int, help='GroupNorm groups (config: 32)')
  p.add_argument('--batch', type=int, help='training batch size (config: 128)')
  p.add_argument('--steps-per-call', type=int, help='genjax fused train steps (config: 10)')
  p.add_argument('--timesteps', type=int,
                 help='T, the DDPM sampler\'s step count (config: 1000); fewer for a quick check')
  p.add_argument('--ddim-steps', type=int, help='DDIM sampling steps (config: 50)')
  p.add_argument('--conv', choices=('auto', 'xla', 'taps'),
                 help="the U-Net's convolution formulation (config: auto)")
  p.add_argument('--ddpm-batch', type=int, default=4, help='images per DDPM sampling call')
  p.add_argument('--ddim-batch', type=int, default=16, help='images per DDIM sampling call')
  p.add_argument('--skip-torch', action='store_true', help='genjax only')
  p.add_argument('--torch-threads', type=int, default=0,
                 help='torch intra-op threads (0: one per CPU, as torch_vae.py)')
  p.add_argument('--skip-ddpm', action='store_true', help='leave out the T-step sampler')
  return p.parse_args(argv)


def main(argv=None):
  args = parse_args(argv)
  config = benchmark_config(args)
  m, o, e = config.model, config.objective, config.eval
  model_line = (f'U-Net channels {m.channels}, mults {tuple(m.channel_mults)}, '
                f'{m.num_res_blocks} res blocks, attention at {tuple(m.attn_resolutions)}, '
                f'{m.norm_groups} groups, dropout {m.dropout}, '
                f"{'class-conditional' if m.conditional else 'unconditional'}; "
                f'{o.prediction}-prediction, {o.schedule} schedule, T={o.timesteps}')
  env, machine = begin(__doc__, torch_threads=args.torch_threads or 'one per CPU')
  print(f'model: {model_line}')
  print(f'training: batch {config.batch_size}, Adam {config.optimizer.learning_rate:g}, '
        f'clip {config.optimizer.grad_clip_norm:g}, EMA {config.ema_decay:g}, genjax '
        f'steps_per_call {config.steps_per_call}; sampling: DDPM {o.timesteps} steps x '
        f'{args.ddpm_batch} images, DDIM {e.ddim_steps} steps (eta {e.ddim_eta:g}) x '
        f'{args.ddim_batch} images; best of {args.repeats} interleaved repeats, each timed '
        f'>= {args.min_time:g} s; compiling ...', flush=True)

  genjax_side = GenjaxDiffusion(config)
  batches = {f'DDIM {e.ddim_steps} steps': args.ddim_batch}
  if not args.skip_ddpm:
    batches = {f'DDPM {o.timesteps} steps': args.ddpm_batch, **batches}
  timers = {('train', 'genjax'): genjax_side.train.timer(args.min_time)}
  for name, batch in batches.items():
    timers[name, 'genjax'] = genjax_side.sample_timer(name.split()[0], batch, args.min_time)
  compile_s = dict(genjax_side.compile_seconds)
  print('genjax compile seconds: ' + ', '.join(f'{k} {v:.1f}' for k, v in compile_s.items()))
  params_line = f'parameters: genjax {genjax_side.num_params:,}'
  if not args.skip_torch:
    torch_side = TorchDiffusion(config, genjax_side, args.torch_threads)
    params_line += (f', torch {torch_side.num_params:,}; forward pass max |genjax - torch| '
                    f'{torch_side.forward_max_abs_diff:.2e} (outputs up to '
                    f'{torch_side.forward_max_abs:.2f})')
    timers['train', 'torch'] = torch_side.train_timer(args.min_time)
    for name, batch in batches.items():
      timers[name, 'torch'] = torch_side.sample_timer(name.split()[0], batch, args.min_time)
  print(params_line, flush=True)

  raw, others = interleaved_repeats({key: t.rate for key, t in timers.items()}, args.repeats)
  best, median = best_and_median(raw)
  print(f"\n{'measurement':34s} {'best img/s':>11s} {'median img/s':>13s}  raw (img/s)")
  for (task, side), values in raw.items():
    print(f'{side + " " + task:34s} {best[task, side]:11.3f} {median[task, side]:13.3f}  '
          + ', '.join(f'{v:.3f}' for v in values))
  ratios = {}
  if not args.skip_torch:
    ratios = {task: best[task, 'genjax'] / best[task, 'torch'] for task in ('train', *batches)}
    print('ratios genjax / torch (best of repeats; > 1: genjax faster): ' + ', '.join(
        f'{task} {r:.2f}x' for task, r in ratios.items()))
  finish(args.out, {
      'command': command_line('benchmarks.diffusion_throughput', argv),
      'data': genjax_side.train.assembled.data.description, 'model': model_line,
      'settings': {'batch_size': config.batch_size, 'steps_per_call': config.steps_per_call,
                   'ddpm_steps': o.timesteps, 'ddpm_batch': args.ddpm_batch,
                   'ddim_steps': e.ddim_steps, 'ddim_eta': e.ddim_eta,
                   'ddim_batch': args.ddim_batch, 'repeats': args.repeats,
                   'min_time_s': args.min_time, 'config': config.to_dict()},
      'parameters': {'genjax': genjax_side.num_params,
                     'torch': None if args.skip_torch else torch_side.num_params},
      'forward_max_abs_diff': None if args.skip_torch else torch_side.forward_max_abs_diff,
      'genjax_compile_s': compile_s,
      'genjax_conv_flop_share': genjax_side.conv_flop_shares,
      'images_per_sec_best': {f'{side} {task}': v for (task, side), v in best.items()},
      'images_per_sec_raw': {f'{side} {task}': v for (task, side), v in raw.items()},
      'ratios_genjax_over_torch': ratios,
      'genjax_last_train_loss': genjax_side.train.last(),
  }, machine, others, env)


if __name__ == '__main__':
  main()
