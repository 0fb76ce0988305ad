"""genjax vs PyTorch Glow training on this CPU, side by side, in one run.

Command (from the repository root; the .txt beside the JSON is this output, through tee):

  PYTHONPATH=/tmp/torch_for_bench .venv/bin/python -m benchmarks.glow_train \
      --out results/benchmarks/glow_train.json | tee results/benchmarks/glow_train.txt

Both sides train the Glow of configs/glow.py:cpu (2 levels, 28x28 -> 14x14 -> 7x7, of 4
steps of ActNorm, the LU-parameterised 1x1 convolution and the affine coupling with a
64-channel 3x3 -> 1x1 -> zero-init 3x3 network and a tanh log-scale; a zero-init conv
split prior, a learned top Gaussian) with Adam 1e-3, 1,000 warmup steps and gradient-norm
clipping at 50, on batches of 64 8-bit Fashion-MNIST images, dequantised with fresh
uniform noise every step, the loss the mean bits/dim of y = (k + u) / 256 (read as
y - 1/2):

* genjax through the training loop's own path: the family from `genjax.families.glow.build`
  (the loop's `loss_fn`, ActNorm's data-dependent init on a first batch in `init_params`),
  the optimiser from `family_optimizer`, the state made as `genjax.training.run.initial_state`
  makes it, `gradient_update` -> `make_train_step` with the config's steps_per_call (10)
  fused steps per call, batches put on the device before timing;
* PyTorch (benchmarks/torch_glow.py): the same layers as nn.Conv2d and an F.conv2d 1x1,
  Adam with a LambdaLR warmup and clip_grad_norm_, the 8-bit data preloaded in one tensor
  (the fair loop of torch_vae.py), the noise drawn by torch.rand inside the step,
  torch.set_num_threads(os.cpu_count()).

The same architecture, checked: `--check` copies genjax's parameters (every leaf perturbed
by N(0, 0.05^2), so that the zero-init convs act too) into the torch Glow and compares, on
one batch with the same dequantisation noise, the loss (to 1e-4 bits/dim) and every
parameter's gradient; it also checks that torch's ActNorm init on genjax's first batch
gives genjax's ActNorm parameters. Channel order (NHWC vs NCHW, the squeeze's [2, 2, C])
is a fixed permutation, which changes no cost (benchmarks/torch_glow.py). The parameter
counts of the two sides, per kind of layer, are checked equal and printed.

What is timed: training examples/s, each measurement at least --min-time seconds after a
warm-up (compiling excluded), --repeats repeats interleaved so that a burst of background
load hits both sides alike; the table gives best and median, and the ratio genjax/torch of
the medians with the per-repeat ratios. Goal (from the issue): genjax >= 0.8x torch. When
the machine is shared, trust the ratios, not the absolute numbers.
"""

from __future__ import annotations

import argparse
import functools
import os
import time

import numpy as np

import jax
import jax.numpy as jnp

from benchmarks.harness import (command_line, interleaved_repeats, jax_environment,
                                machine_busy, print_machine_facts, report_load, time_calls,
                                write_json)
from configs import glow as glow_config
from genjax.data import DatasetNotFoundError, ImageArrays, load_image_dataset
from genjax.families import glow
from genjax.training import mesh as mesh_lib
from genjax.data.family_data import DataInfo
from genjax.training.loop import family_optimizer
from genjax.training.run import run_keys
from genjax.training.state import create_train_state
from genjax.training.step import make_train_step
from genjax.training.update import gradient_update

GOAL = 0.8  # genjax / torch examples/s, from the issue
CONFIG = 'cpu'
DISTINCT_CALLS = 8  # preloaded calls the timed loop cycles through
# Levers tried on the genjax step (idle machine, this benchmark, medians of 2-3 repeats).
LEVERS = {
    "the step as built: the loop's gradient_update of the family's loss (flax nn.Conv "
    "couplings and split prior, the 1x1 convolution as an einsum over channels, optax's "
    'clip_by_global_norm and adam with a linear warmup), steps_per_call fused steps '
    'unrolled by make_train_step': 'the reference',
    'each 3x3 coupling conv as nine shifted slices concatenated and one matmul (im2col)':
        'slower than lax.conv in a one-off timing of the coupling network alone (batch 64, '
        '14x14, two training runs sharing the CPU; script not kept): forward 13.2 against '
        '2.5 ms and gradient 44.8 against 15.9 ms at 32 channels, 177 against 47 ms '
        'gradient at 128: not taken',
    'steps_per_call 1 instead of 10': 'the training loop at hidden 32 (the old cpu size, '
        'sharing the CPU) ran 2.3 steps/s against 20, though it compiled in 13.6 s against '
        '43 s: 10 kept',
}
KINDS = ('actnorm', 'invconv1x1', 'coupling', 'split_prior', 'top')


def parse_args(argv=None):
  p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
  p.add_argument('--out', default='', help='write the results as JSON to this path')
  p.add_argument('--repeats', type=int, default=3, help='interleaved repeats')
  p.add_argument('--min-time', type=float, default=5.0,
                 help='seconds each timed measurement runs at least')
  p.add_argument('--steps-per-call', type=int, default=0,
                 help="genjax steps fused per call; 0: the config's")
  p.add_argument('--max-examples', type=int, default=0, help='use only this many (0: all)')
  p.add_argument('--skip-torch', action='store_true')
  p.add_argument('--torch-threads', type=int, default=0, help='0: one per CPU')
  p.add_argument('--quick', action='store_true',
                 help='a smoke check in seconds: 2048 examples, one repeat of >= 0.2 s, '
                      'steps_per_call 1 unless given')
  p.add_argument('--check', action='store_true',
                 help='only check that the torch Glow with genjax parameters gives the same '
                      'loss and gradients on one batch, then exit')
  return p.parse_args(argv)


# ----------------------------------------------------------------------------- data


def load_images(max_examples: int) -> tuple[np.ndarray, ImageArrays, str]:
  """Train images float32 [N, 28, 28, 1] as k/255, the test split (which the family's
  figures read), and a line saying where from; random 8-bit images when none is found."""
  try:
    train = load_image_dataset('fashion_mnist', 'train')
    test = load_image_dataset('fashion_mnist', 'test')
    what = f'real data: Fashion-MNIST {train.split} ({train.source}), 8-bit, k/255'
  except DatasetNotFoundError:
    rng = np.random.default_rng(0)
    train, test = (ImageArrays('random', split, rng.integers(0, 256, (n, 28, 28, 1), np.uint8),
                               np.zeros(n, np.int32), 'numpy default_rng(0)')
                   for split, n in (('train', 60000), ('test', 1000)))
    what = 'RANDOM 8-bit images (Fashion-MNIST not found)'
  images = train.images[:max_examples] if max_examples else train.images
  images01 = np.ascontiguousarray(images, np.float32) / 255.0
  return images01, test, f'{what}; {len(images01)} examples'


def build_family(config, images01: np.ndarray, test: ImageArrays):
  info = DataInfo(num_train=len(images01), num_classes=10,
                  example_shape=tuple(images01.shape[1:]), test_images=test)
  return glow.build(config, info)


# ----------------------------------------------------------------------------- genjax


def genjax_kind(path: str) -> str:
  """Which kind of layer a genjax parameter (its key path) belongs to."""
  for part, kind in (('layers_0', 'actnorm'), ('layers_1', 'invconv1x1'),
                     ('layers_2', 'coupling'), ('split_prior', 'split_prior'), ('top_', 'top')):
    if part in path:
      return kind
  raise ValueError(f'unclassified genjax parameter {path}')


def counts_by_kind(named_sizes) -> dict[str, int]:
  out = dict.fromkeys(KINDS, 0)
  for kind, size in named_sizes:
    out[kind] += int(size)
  return out


class GenjaxTrain:
  """The loop's train step for the glow family: steps_per_call fused steps per call."""

  def __init__(self, config, images01: np.ndarray, test: ImageArrays):
    self.k, self.batch = config.steps_per_call, config.batch_size
    self.mesh = mesh_lib.make_mesh()
    mesh_lib.check_divides(self.batch, self.mesh)
    family = build_family(config, images01, test)
    optimizer = family_optimizer(family, config)
    self.step = make_train_step(gradient_update(family.loss_fn, optimizer, config.ema_decay),
                                self.mesh)

    # As genjax.training.run.initial_state: params, ActNorm set from a first batch; the
    # glow family keeps no model state.
    keys = run_keys(config.seed)
    example = {'image': images01[:self.batch]}

    def create(rng):
      return create_train_state(family.init_params(rng, example), optimizer, keys['state'],
                                ema=config.ema_decay > 0, model_state=None)

    self.state = jax.jit(create, out_shardings=mesh_lib.replicated(self.mesh))(keys['init'])
    leaves = jax.tree_util.tree_flatten_with_path(self.state.params)[0]
    self.num_params = int(sum(p.size for _, p in leaves))
    self.by_kind = counts_by_kind((genjax_kind(jax.tree_util.keystr(path)), p.size)
                                  for path, p in leaves)

    per_call = self.k * self.batch
    order = np.random.default_rng(1).permutation(len(images01))
    order = np.resize(order, max(per_call, len(order) // per_call * per_call))
    self.batches = [
        mesh_lib.global_batch(
            {'image': images01[order[i:i + per_call]].reshape(
                (self.k, self.batch) + images01.shape[1:])}, self.mesh, batch_axis=1)
        for i in range(0, min(len(order), DISTINCT_CALLS * per_call), per_call)]
    jax.block_until_ready(self.batches)
    self.cursor = 0
    t0 = time.perf_counter()
    self.run_n(1)  # compile and warm up
    self.compile_s = time.perf_counter() - t0

  def run_n(self, n: int) -> None:
    state = self.state
    for _ in range(n):
      state, metrics = self.step(state, self.batches[self.cursor])
      self.cursor = (self.cursor + 1) % len(self.batches)
    self.state = jax.block_until_ready(state)
    if not np.asarray(metrics['finite']).all():
      raise FloatingPointError('non-finite loss in the genjax step')
    self.last_loss = float(np.asarray(metrics['loss'])[-1])

  def measure(self, min_time: float) -> float:
    self.n, dt = time_calls(self.run_n, min_time, getattr(self, 'n', 1))
    return self.n * self.k * self.batch / dt


# ----------------------------------------------------------------------------- torch


def torch_kind(name: str) -> str:
  """Which kind of layer a torch parameter (its module path) belongs to."""
  for part, kind in (('layers.0.', 'actnorm'), ('layers.1.', 'invconv1x1'),
                     ('layers.2.', 'coupling'), ('split_priors.', 'split_prior'),
                     ('top_', 'top')):
    if part in name:
      return kind
  raise ValueError(f'unclassified torch parameter {name}')


def torch_train(config, images01: np.ndarray, threads: int):
  """benchmarks/torch_glow.py's step at the config's sizes, warmed up; torch is imported
  here, so that --skip-torch runs without it."""
  from benchmarks import torch_glow  # pylint: disable=g-import-not-at-top

  class TorchTrain(torch_glow.TorchTrain):

    def measure(self, min_time: float) -> float:
      self.n, dt = time_calls(self.run_n, min_time, getattr(self, 'n', 1))
      return self.n * self.batch / dt

  m, opt = config.model, config.optimizer
  t = TorchTrain(images01, batch_size=config.batch_size, lr=opt.learning_rate,
                 warmup_steps=opt.warmup_steps, grad_clip_norm=opt.grad_clip_norm,
                 levels=m.levels, steps=m.steps, hidden=m.hidden, scale=m.scale,
                 threads=threads)
  t.num_params = t.parameter_count()
  t.by_kind = counts_by_kind((torch_kind(name), p.numel())
                             for name, p in t.model.named_parameters())
  t.run_n(3)  # warm-up: allocator, oneDNN primitive caches
  return t, torch_glow.torch.__version__


def torch_named(params, config) -> dict[str, np.ndarray]:
  """genjax's Glow params -> torch_glow.Glow's state_dict entries (NCHW, [out, in, kh, kw]
  kernels). Linear in the params, so it maps their gradients alike."""
  p, m = params['params'], config.model
  conv = lambda c: {'weight': np.transpose(np.asarray(c['kernel']), (3, 2, 0, 1)),
                    'bias': np.asarray(c['bias'])}
  out = {}
  for i in range(m.levels):
    for k in range(m.steps):
      s, t = p[f'level{i}_step{k}'], f'level_steps.{i}.{k}.layers.'
      for name in ('loc', 'log_scale'):
        out[f'{t}0.{name}'] = np.asarray(s['layers_0'][name])
      for name in ('lower', 'upper', 'log_s'):
        out[f'{t}1.{name}'] = np.asarray(s['layers_1'][name])
      net = s['layers_2']['CouplingNet_0']
      for j, name in ((0, 'Conv_0'), (2, 'Conv_1'), (4, 'zero_init')):
        out.update({f'{t}2.net.{j}.{w}': v for w, v in conv(net[name]).items()})
  for i in range(m.levels - 1):
    out.update({f'split_priors.{i}.{w}': v
                for w, v in conv(p[f'split_prior{i}']['Conv_0']).items()})
  for name in ('top_mean', 'top_log_std'):
    out[name] = np.transpose(np.asarray(p[name]), (2, 0, 1))
  return out


def check_same_loss(config, images01: np.ndarray, test: ImageArrays, noise: float = 0.05,
                    tol: float = 1e-4) -> dict:
  """The torch Glow with genjax's (perturbed) parameters gives genjax's loss and gradients
  on one batch with the same dequantisation noise; torch's ActNorm init on genjax's first
  batch gives genjax's. Raises AssertionError if not; returns the differences."""
  import torch  # pylint: disable=g-import-not-at-top
  from benchmarks import torch_glow  # pylint: disable=g-import-not-at-top
  family = build_family(config, images01, test)
  m, b = config.model, config.batch_size
  batch = {'image': jnp.asarray(images01[:b])}
  nchw = lambda a: torch.as_tensor(np.array(a)).permute(0, 3, 1, 2).contiguous()
  model = torch_glow.Glow(tuple(nchw(images01[:1]).shape[1:]), m.levels, m.steps, m.hidden,
                          m.scale)

  # ActNorm's data-dependent init: genjax's init_params reads this input (its data key).
  rng = jax.random.key(config.seed)
  params = family.init_params(rng, batch)
  with torch.no_grad():
    model(nchw(glow.to_glow_input(batch['image'], jax.random.split(rng)[0])))
  init = torch_named(params, config)
  actnorm_diff = max(float(np.abs(p.detach().numpy() - init[name]).max())
                     for name, p in model.named_parameters() if '.layers.0.' in name)

  # Every leaf perturbed, so that the zero-init convs and the 1x1 LU factors all act.
  leaves, treedef = jax.tree.flatten(params)
  keys = jax.random.split(jax.random.key(1), len(leaves))
  params = jax.tree.unflatten(treedef, [p + noise * jax.random.normal(k, p.shape)
                                        for p, k in zip(leaves, keys)])
  step_rng = jax.random.key(2)
  loss_of = lambda p: family.loss_fn(p, None, batch, step_rng, None)[0]
  g_loss, g_grads = jax.value_and_grad(loss_of)(params)
  # The same draw to_glow_input makes from step_rng.
  u = jax.random.uniform(step_rng, batch['image'].shape)
  k = jnp.round(batch['image'] * 255.0)
  model.load_state_dict({n: torch.as_tensor(np.array(v))
                         for n, v in torch_named(params, config).items()})
  x = nchw((k + u) / torch_glow.LEVELS - 0.5)
  t_loss = torch_glow.bits_per_dim(model(x), x[0].numel()).mean()
  t_loss.backward()
  want = torch_named(g_grads, config)
  grad_diff = max(float(np.abs(p.grad.numpy() - want[name]).max()
                        / max(np.abs(want[name]).max(), 1e-12))
                  for name, p in model.named_parameters())
  result = {'genjax_loss': float(g_loss), 'torch_loss': t_loss.item(),
            'loss_abs_diff': abs(float(g_loss) - t_loss.item()),
            'grad_max_rel_diff': grad_diff, 'actnorm_init_max_abs_diff': actnorm_diff}
  print('check: ' + ', '.join(f'{key} {v:.3g}' for key, v in result.items()))
  if result['loss_abs_diff'] > tol or grad_diff > 1e-3 or actnorm_diff > 1e-4:
    raise AssertionError(f'the torch Glow is not the genjax Glow: {result}')
  print(f'check passed: the same loss (to {tol:g} bits/dim), gradients and ActNorm init')
  return result


def check_config(config) -> None:
  """The torch side implements this config's choices only."""
  o = config.optimizer
  wanted = {'data.binarize': (config.data.binarize, 'none'),
            'ema_decay': (config.ema_decay, 0.0),
            'optimizer.name': (o.name, 'adam'),
            'optimizer.beta1': (o.get('beta1', 0.9), 0.9),
            'optimizer.beta2': (o.get('beta2', 0.999), 0.999),
            'optimizer.weight_decay': (o.weight_decay, 0.0)}
  other = {k: v for k, (v, want) in wanted.items() if v != want}
  if other:
    raise ValueError(f'benchmarks/torch_glow.py implements only {wanted}; '
                     f'configs/glow.py:{CONFIG} has {other}')


# ----------------------------------------------------------------------------- main


def main(argv=None):
  args = parse_args(argv)
  if args.quick:
    args.max_examples, args.repeats, args.min_time = args.max_examples or 2048, 1, 0.2
    args.steps_per_call = args.steps_per_call or 1
  config = glow_config.get_config(CONFIG)
  if args.steps_per_call:
    config.steps_per_call = args.steps_per_call
  check_config(config)
  if args.check:
    images01, test, _ = load_images(args.max_examples or 1024)
    check_same_loss(config, images01, test)
    return
  images01, test, data_line = load_images(args.max_examples)
  threads = args.torch_threads or os.cpu_count()
  env = jax_environment(torch_threads=threads)
  print(__doc__.split('\n\n')[0])
  machine = print_machine_facts()
  print(f'data: {data_line}')
  torch_line = 'torch not run' if args.skip_torch else (
      f"torch {machine['torch']} ({threads} threads)")
  print(f"jax {env['jax']} on {env['devices']}, {torch_line}, {env['cpu_count']} CPUs, "
        f"XLA_FLAGS={env['XLA_FLAGS']!r}; "
        f'configs/glow.py:{CONFIG}, batch {config.batch_size}, genjax steps_per_call '
        f'{config.steps_per_call}; {args.repeats} interleaved repeats, each timed >= '
        f"{args.min_time:g} s; load average {env['loadavg_at_start'][0]:.2f}")
  print('compiling and warming up ...', flush=True)

  measures = {'genjax': GenjaxTrain(config, images01, test)}
  g = measures['genjax']
  split = lambda n: ', '.join(f'{kind} {n[kind]:,}' for kind in KINDS)
  print(f'  genjax: {g.num_params:,} parameters ({split(g.by_kind)}); step compiled and '
        f'run once in {g.compile_s:.1f} s', flush=True)
  if not args.skip_torch:
    measures['torch'], env['torch'] = torch_train(config, images01, threads)
    t = measures['torch']
    if t.num_params != g.num_params or t.by_kind != g.by_kind:
      raise AssertionError(f'genjax has {g.num_params:,} parameters ({split(g.by_kind)}), '
                           f'torch {t.num_params:,} ({split(t.by_kind)})')
    print(f'  torch:  {t.num_params:,} parameters (equal, per kind too)', flush=True)

  raw, others = interleaved_repeats(
      {key: functools.partial(m.measure, args.min_time) for key, m in measures.items()},
      args.repeats)
  busy = machine_busy(others)
  best = {key: max(v) for key, v in raw.items()}
  median = {key: float(np.median(v)) for key, v in raw.items()}

  print()
  print(f"{'side':8s} {'params':>8s} {'best ex/s':>10s} {'median ex/s':>12s} "
        f"{'last loss':>10s}  raw (ex/s)")
  print('-' * 72)
  for key, m in measures.items():
    print(f'{key:8s} {m.num_params:8,d} {best[key]:10.1f} {median[key]:12.1f} '
          f'{m.last_loss:10.3f}  ' + ', '.join(f'{v:.1f}' for v in raw[key]))
  result_ratio, goal_met, per_repeat = None, None, None
  if not args.skip_torch:
    result_ratio = median['genjax'] / median['torch']
    per_repeat = [a / b for a, b in zip(raw['genjax'], raw['torch'])]
    goal_met = result_ratio >= GOAL
    print(f'genjax / torch (medians): {result_ratio:.2f}x; per repeat: '
          + ', '.join(f'{v:.2f}' for v in per_repeat))
    print(f"goal: genjax >= {GOAL}x torch: {'MET' if goal_met else 'NOT MET'}"
          + (' (UNRELIABLE: the machine was busy, see below)' if busy else ''))
  print('(losses in bits/dim of the 8-bit data, at the last timed step of each side; the '
        'sides start from different random convs and see different batches)')
  report_load(env, others, busy)

  if args.out:
    write_json(args.out, {
        'command': command_line('benchmarks.glow_train', argv), 'data': data_line,
        'environment': env,
        'levers_tried': LEVERS,
        'settings': {'config': f'configs/glow.py:{CONFIG}', 'model': config.model.to_dict(),
                     'optimizer': config.optimizer.to_dict(), 'batch_size': config.batch_size,
                     'steps_per_call': config.steps_per_call, 'repeats': args.repeats,
                     'min_time_s': args.min_time, 'max_examples': args.max_examples,
                     'torch_threads': threads},
        'parameters': g.num_params, 'parameters_per_kind': g.by_kind,
        'genjax_compile_s': g.compile_s,
        'examples_per_sec_best': best, 'examples_per_sec_median': median,
        'examples_per_sec_raw': raw, 'ratio_genjax_over_torch': result_ratio,
        'per_repeat_ratios': per_repeat, 'goal': f'genjax >= {GOAL}x torch',
        'goal_met': goal_met, 'machine_busy': busy,
        'last_loss': {key: m.last_loss for key, m in measures.items()},
    }, machine)


if __name__ == '__main__':
  main()
