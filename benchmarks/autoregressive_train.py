"""genjax vs PyTorch training of PixelCNN and Gated PixelCNN on this CPU, in one run.

Command (from the repository root):

  .venv/bin/python -m benchmarks.autoregressive_train [--out results.json]

Both sides train the same networks (configs/autoregressive.py's 'pixelcnn,cpu' and
'gated,cpu' sizes: PixelCNN h=64 with 7 blocks, Gated PixelCNN 32 channels and 10 layers;
Bernoulli head; Adam 3e-4 after global-norm clipping at 1.0) on batches of 64 binarised
28x28 images:

* genjax through the training loop's own path: `nll_loss` -> `gradient_update` ->
  `make_train_step` with --steps-per-call fused steps, batches put on the device before
  timing;
* PyTorch (benchmarks/torch_pixelcnn.py): the same layers as masked nn.Conv2d, data
  preloaded in one tensor (the fair loop of torch_vae.py).

Each repeat times every model on both sides back to back (warm-up excluded), so background
load hits them alike; the table gives medians over repeats and the ratio of genjax to torch
examples/s. When the machine is shared, trust the ratios, not the absolute numbers.
"""

from __future__ import annotations

import argparse
import functools
import os
import platform
import time

import numpy as np

import jax
import jax.numpy as jnp
import torch

from benchmarks import torch_pixelcnn
from benchmarks.harness import (command_line, interleaved_repeats, load_data, others_line,
                                print_machine_facts, time_calls, write_json)
from configs import autoregressive as ar_config
from genjax.models.autoregressive import make_model
from genjax.objectives.autoregressive import nll_loss
from genjax.training import mesh as mesh_lib
from genjax.training.optimizers import make_optimizer
from genjax.training.state import create_train_state
from genjax.training.step import make_train_step
from genjax.training.family import stateless_loss
from genjax.training.update import gradient_update

IMAGE_SHAPE = (28, 28, 1)
GOAL = 0.8  # genjax / torch examples/s, from the issue
MODELS = {'pixelcnn': 'pixelcnn', 'gated_pixelcnn': 'gated'}  # name -> config variant
CPU_CHANNELS = {'gated_pixelcnn': 32}  # the 'cpu' variant narrows the Gated PixelCNN


def parse_args(argv=None):
  p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
  p.add_argument('--models', default='pixelcnn,gated_pixelcnn')
  p.add_argument('--batch', type=int, default=64)
  p.add_argument('--steps-per-call', type=int, default=10)
  p.add_argument('--repeats', type=int, default=3, help='median of this many repeats')
  p.add_argument('--min-time', type=float, default=5.0,
                 help='seconds each timed measurement runs at least')
  p.add_argument('--skip-torch', action='store_true')
  p.add_argument('--torch-conv', default='full', choices=('full', 'cropped'),
                 help="PixelCNN's masked convs: full k x k kernels (the usual way) or "
                      'cropped to the rows the mask keeps')
  p.add_argument('--torch-channels-last', action='store_true')
  p.add_argument('--torch-threads', type=int, default=0,
                 help='0: one per CPU. On a shared machine 1 can be faster: OpenMP threads '
                      'stall at barriers when one of them is descheduled')
  p.add_argument('--out', default='', help='write the results as JSON to this path')
  return p.parse_args(argv)


def model_config(name: str):
  c = ar_config.get_config(MODELS[name])
  if name in CPU_CHANNELS:
    c.model.channels = CPU_CHANNELS[name]
  return c


class GenjaxTrain:
  """The loop's train step for one model: steps_per_call fused steps per call."""

  def __init__(self, name: str, images: np.ndarray, batch: int, steps_per_call: int):
    c = model_config(name)
    self.k, self.batch = steps_per_call, batch
    self.mesh = mesh_lib.make_mesh()
    model = make_model(c.model, IMAGE_SHAPE, 0)
    optimizer = make_optimizer(c.optimizer)
    self.step = make_train_step(gradient_update(stateless_loss(nll_loss(model, False)), optimizer), self.mesh)
    init_rng, state_rng = jax.random.split(jax.random.PRNGKey(0))
    params = model.init(init_rng, jnp.asarray(images[:1]))
    self.num_params = sum(p.size for p in jax.tree.leaves(params))
    self.state = jax.jit(lambda p: create_train_state(p, optimizer, state_rng, ema=False),
                         out_shardings=mesh_lib.replicated(self.mesh))(params)
    per_call = self.k * batch
    order = np.random.default_rng(1).permutation(len(images))
    order = np.resize(order, max(per_call, len(order) // per_call * per_call))
    self.batches = [
        mesh_lib.global_batch(
            {'image': images[order[i:i + per_call]].reshape((self.k, batch) + IMAGE_SHAPE)},
            self.mesh, batch_axis=1)
        for i in range(0, min(len(order), 4 * per_call), per_call)]  # a few distinct calls
    self.cursor = 0
    t0 = time.perf_counter()
    self.run_n(1)  # compile and warm up
    self.compile_s = time.perf_counter() - t0  # and one call

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


class TorchTrain(torch_pixelcnn.TorchTrain):

  def __init__(self, name, images, batch, conv, channels_last, threads=0):
    super().__init__(name, images, batch_size=batch, cropped=conv == 'cropped',
                     channels_last=channels_last)
    if threads:
      torch.set_num_threads(threads)
    self.num_params = torch_pixelcnn.effective_parameter_count(self.model)
    self.run_n(3)  # warm-up: allocator, oneDNN primitive caches

  def measure(self, min_time: float) -> float:
    self.n, dt = time_calls(self.run_n, min_time, getattr(self, 'n', 1))
    return self.n * self.batch / dt


def main(argv=None):
  args = parse_args(argv)
  names = [m for m in args.models.split(',') if m]
  images, data_line = load_data()
  env = {'jax': jax.__version__, 'torch': torch.__version__,
         'python': platform.python_version(), 'cpu_count': os.cpu_count(),
         'XLA_FLAGS': os.environ.get('XLA_FLAGS', ''), 'loadavg_at_start': os.getloadavg()}
  print(__doc__.split('\n\n')[0])
  machine = print_machine_facts()
  print(f'data: {data_line}')
  print(f"jax {env['jax']}, torch {env['torch']} "
        f"({args.torch_threads or torch.get_num_threads()} threads), "
        f"{env['cpu_count']} CPUs, XLA_FLAGS={env['XLA_FLAGS']!r}, batch {args.batch}, "
        f'genjax steps_per_call {args.steps_per_call}, torch convs {args.torch_conv}'
        f"{', channels_last' if args.torch_channels_last else ''}, "
        f"load average {env['loadavg_at_start'][0]:.2f}")
  print('compiling and warming up ...', flush=True)

  measures = {}
  for name in names:
    measures[(name, 'genjax')] = GenjaxTrain(name, images, args.batch, args.steps_per_call)
    if not args.skip_torch:
      measures[(name, 'torch')] = TorchTrain(name, images, args.batch, args.torch_conv,
                                             args.torch_channels_last, args.torch_threads)
      g, t = measures[(name, 'genjax')].num_params, measures[(name, 'torch')].num_params
      if g != t:
        raise AssertionError(f'{name}: genjax has {g:,} parameters, torch {t:,}')
    print(f'  {name}: {measures[(name, "genjax")].num_params:,} parameters'
          + ('' if args.skip_torch else ' on both sides'), flush=True)

  raw, others = interleaved_repeats(
      {key: functools.partial(m.measure, args.min_time) for key, m in measures.items()},
      args.repeats)

  median = {key: float(np.median(v)) for key, v in raw.items()}
  print()
  print(f"{'model':16s} {'genjax ex/s':>12s} {'torch ex/s':>12s} {'ratio':>7s}  "
        f'per-repeat ratios')
  print('-' * 72)
  rows = {}
  for name in names:
    g = median[(name, 'genjax')]
    row = {'genjax_examples_per_sec': g, 'parameters': measures[(name, 'genjax')].num_params,
           'genjax_last_loss': measures[(name, 'genjax')].last_loss,
           'genjax_compile_s': measures[(name, 'genjax')].compile_s}
    if args.skip_torch:
      print(f'{name:16s} {g:12.1f}')
    else:
      t = median[(name, 'torch')]
      per_repeat = [a / b for a, b in zip(raw[(name, 'genjax')], raw[(name, 'torch')])]
      row.update(torch_examples_per_sec=t, ratio=g / t, per_repeat_ratios=per_repeat,
                 torch_last_loss=measures[(name, 'torch')].last_loss)
      print(f'{name:16s} {g:12.1f} {t:12.1f} {g / t:6.2f}x  '
            + ', '.join(f'{v:.2f}' for v in per_repeat))
    rows[name] = row
  if not args.skip_torch:
    print(f'goal: genjax >= {GOAL}x torch: ' + ', '.join(
        f"{n} {'MET' if rows[n]['ratio'] >= GOAL else 'NOT MET'}" for n in names))
  env['loadavg_at_end'] = os.getloadavg()
  env['other_processes_cpu_share_per_repeat'] = others
  print(f"Medians of {args.repeats} interleaved repeats. Other processes took "
        + others_line(others)
        + ' of the CPUs per repeat: on a shared machine compare the ratios, not the '
        'absolute examples/s.')

  if args.out:
    result = {
        'command': command_line('benchmarks.autoregressive_train', argv),
        'data': data_line, 'environment': env,
        'settings': {k: v for k, v in vars(args).items() if k != 'out'},
        'models': rows,
        'examples_per_sec_raw': {f'{n} {s}': v for (n, s), v in raw.items()},
    }
    write_json(args.out, result, machine)


if __name__ == '__main__':
  main()
