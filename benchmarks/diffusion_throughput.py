"""genjax vs PyTorch DDPM U-Net throughput on this machine's CPU, side by side, in one run.

Command (from the repository root):

  .venv/bin/python -m benchmarks.diffusion_throughput [--out results.json]

What is compared (images/s, best of --repeats repeats, interleaved by
benchmarks/harness.py so that a burst of background load hits every measurement):

* training: genjax through the loop's own path (`genjax.families.diffusion.build(config, info)` ->
  `gradient_update(family.loss_fn, make_optimizer(config.optimizer), config.ema_decay)`
  -> `make_train_step`, steps_per_call fused steps per call, batches from the loop's
  TrainStream put on the device once) against benchmarks/torch_unet.py's step (the same
  eps-prediction loss, Adam, gradient clipping and EMA, data preloaded in one tensor).
* sampling: DDPM ancestral sampling over all T timesteps and DDIM over --ddim-steps, each
  one jitted `lax.scan` in genjax (`genjax.samplers.diffusion`) and a Python loop over
  the timesteps under `torch.inference_mode` in torch. Both sample with the EMA weights.

The model and hyperparameters are configs/diffusion.py's (--config-variant picks a
variant; --channels, --mults, ... override single fields). The torch U-Net starts from
genjax's initial weights; the run first checks that both have the same parameter count
and the same forward pass on a batch. Because 1000 U-Net evaluations per image are slow
on a CPU, DDPM is timed on a small batch (--ddpm-batch, 4 by default); images/s at other
batch sizes will differ. Results go to --out as JSON.
"""

from __future__ import annotations

import argparse
import functools
import os
import platform

import numpy as np

import jax
import torch

from benchmarks import diffusion_setup as setup
from benchmarks.harness import (command_line, interleaved_repeats, machine_busy,
                                print_machine_facts, report_load, time_calls, write_json)


def parse_args(argv=None):
  p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
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
  p.add_argument('--repeats', type=int, default=3, help='best of this many repeats')
  p.add_argument('--min-time', type=float, default=5.0,
                 help='seconds each timed measurement runs at least')
  p.add_argument('--out', default='', help='write the results as JSON to this path')
  return p.parse_args(argv)


def main(argv=None):
  args = parse_args(argv)
  config = setup.benchmark_config(args)
  arrays, data_line = setup.load_train_arrays(config)
  m, o, e = config.model, config.objective, config.eval
  env = {
      'jax': jax.__version__, 'torch': torch.__version__, 'python': platform.python_version(),
      'devices': [str(d) for d in jax.devices()], 'cpu_count': os.cpu_count(),
      'XLA_FLAGS': os.environ.get('XLA_FLAGS', ''), 'loadavg_at_start': os.getloadavg(),
  }
  model_line = (f'U-Net channels {m.channels}, mults {tuple(m.channel_mults)}, '
                f'{m.num_res_blocks} res blocks, attention at {tuple(m.attn_resolutions)}, '
                f'{m.norm_groups} groups, dropout {m.dropout}, '
                f"{'class-conditional' if m.conditional else 'unconditional'}; "
                f'{o.prediction}-prediction, {o.schedule} schedule, T={o.timesteps}')
  print(__doc__.split('\n\n')[0])
  machine = print_machine_facts()
  print(f'data: {data_line}')
  print(f'model: {model_line}')
  print(f'training: batch {config.batch_size}, Adam {config.optimizer.learning_rate:g}, '
        f'clip {config.optimizer.grad_clip_norm:g}, EMA {config.ema_decay:g}, genjax '
        f'steps_per_call {config.steps_per_call}; sampling: DDPM {o.timesteps} steps x '
        f'{args.ddpm_batch} images, DDIM {e.ddim_steps} steps (eta {e.ddim_eta:g}) x '
        f'{args.ddim_batch} images')
  env['torch_threads'] = args.torch_threads or os.cpu_count()
  print(f"jax {env['jax']} on {env['devices']}, torch {env['torch']} ({env['torch_threads']} "
        f"threads), XLA_FLAGS={env['XLA_FLAGS']!r}, load average "
        f"{env['loadavg_at_start'][0]:.2f}")
  print(f'best of {args.repeats} interleaved repeats, each timed >= {args.min_time:g} s; '
        'compiling ...', flush=True)

  genjax_side = setup.GenjaxDiffusion(config, arrays)
  measures = {'train': {'genjax': genjax_side.train_measure()}}
  sampler_names = ([] if args.skip_ddpm else [f'DDPM {o.timesteps} steps']) + [
      f'DDIM {e.ddim_steps} steps']
  batches = {sampler_names[-1]: args.ddim_batch}
  if not args.skip_ddpm:
    batches[sampler_names[0]] = args.ddpm_batch
  for name in sampler_names:
    measures[name] = {'genjax': genjax_side.sample_measure(name.split()[0], batches[name])}
  compile_s = dict(genjax_side.compile_seconds)
  print('genjax compile seconds: ' + ', '.join(f'{k} {v:.1f}' for k, v in compile_s.items()))

  params_line = f'parameters: genjax {genjax_side.num_params:,}'
  if not args.skip_torch:
    torch_side = setup.TorchDiffusion(config, arrays, genjax_side, args.torch_threads)
    params_line += (f', torch {torch_side.num_params:,}; forward pass max |genjax - torch| '
                    f'{torch_side.forward_max_abs_diff:.2e} (outputs up to '
                    f'{torch_side.forward_max_abs:.2f})')
    measures['train']['torch'] = torch_side.train_measure()
    for name in sampler_names:
      measures[name]['torch'] = torch_side.sample_measure(name.split()[0], batches[name])
  print(params_line, flush=True)

  def rate(measure):
    n, dt = time_calls(measure.run_n, args.min_time, getattr(measure, 'n', 1))
    measure.n = n  # later repeats start from the call count that filled min_time
    return n * measure.images_per_call / dt

  raw, others = interleaved_repeats(
      {(task, side): functools.partial(rate, measure)
       for task, sides in measures.items() for side, measure in sides.items()}, args.repeats)
  genjax_side.check_finite()
  busy = machine_busy(others)
  best = {key: max(v) for key, v in raw.items()}

  print()
  print(f"{'measurement':34s} {'best img/s':>11s} {'median img/s':>13s}  raw (img/s)")
  print('-' * 90)
  for (task, side), values in raw.items():
    print(f'{side + " " + task:34s} {best[task, side]:11.3f} {np.median(values):13.3f}  '
          + ', '.join(f'{v:.3f}' for v in values))
  ratios = {}
  if not args.skip_torch:
    print('\nratios genjax / torch (best of repeats; > 1: genjax faster):')
    for task in measures:
      ratios[task] = best[task, 'genjax'] / best[task, 'torch']
      print(f'  {task:32s} {ratios[task]:6.2f}x')
  report_load(env, others, busy)

  if args.out:
    result = {
        'command': command_line('benchmarks.diffusion_throughput', argv),
        'data': data_line, 'model': model_line, 'environment': env,
        'settings': {'batch_size': config.batch_size,
                     'steps_per_call': config.steps_per_call,
                     'ddpm_steps': o.timesteps, 'ddpm_batch': args.ddpm_batch,
                     'ddim_steps': e.ddim_steps, 'ddim_eta': e.ddim_eta,
                     'ddim_batch': args.ddim_batch, 'repeats': args.repeats,
                     'min_time_s': args.min_time, 'config': config.to_dict()},
        'parameters': {'genjax': genjax_side.num_params,
                       'torch': None if args.skip_torch else torch_side.num_params},
        'forward_max_abs_diff': None if args.skip_torch else torch_side.forward_max_abs_diff,
        'genjax_compile_s': compile_s,
        'images_per_sec_best': {f'{side} {task}': v for (task, side), v in best.items()},
        'images_per_sec_raw': {f'{side} {task}': v for (task, side), v in raw.items()},
        'ratios_genjax_over_torch': ratios, 'machine_busy': busy,
        'genjax_last_train_loss': genjax_side.last_loss,
    }
    write_json(args.out, result, machine)


if __name__ == '__main__':
  main()
