"""compute_dtype on this CPU: the train steps in bfloat16 against float32, side by side.

  .venv/bin/python -m benchmarks.compute_dtype [--out results.json]

Times the MLP VAE's train step (benchmarks/vae_throughput.py's, 10 fused steps) and the
DDPM U-Net's (configs/diffusion.py:cpu through the loop's own step, diffusion_setup) with
`compute_dtype` float32 and bfloat16, interleaved (benchmarks/harness.py). bfloat16 is the
option for accelerators (TPU and recent GPUs multiply bfloat16 natively); this records
what it does on the CPU, where XLA may have no fast bfloat16 kernels.
"""

from __future__ import annotations

import argparse

from benchmarks import diffusion_setup, diffusion_throughput, vae_throughput
from benchmarks.harness import (command_line, finish, interleaved_repeats, load_data, 
                                print_machine_facts, time_calls)

DTYPES = ('float32', 'bfloat16')


def parse_args(argv=None):
  p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
  p.add_argument('--repeats', type=int, default=2)
  p.add_argument('--min-time', type=float, default=4.0)
  p.add_argument('--out', default='')
  return p.parse_args(argv)


def main(argv=None):
  args = parse_args(argv)
  machine = print_machine_facts()
  images, _ = load_data(10000)
  config = diffusion_setup.benchmark_config(
      diffusion_throughput.parse_args(['--config-variant', 'cpu']))
  arrays, _ = diffusion_setup.load_train_arrays(config)
  measures = {}
  for dtype in DTYPES:
    vae = vae_throughput.GenjaxTrain(images, 10, '', dtype=dtype)
    measures[('VAE train', dtype)] = (
        lambda vae=vae: vae.measure(args.min_time))
    config.compute_dtype = dtype
    unet = diffusion_setup.GenjaxDiffusion(config, arrays).train_measure()
    unet.run_n(1)

    def unet_rate(m=unet):
      m.n, dt = time_calls(m.run_n, args.min_time, m.n)
      return m.n * m.images_per_call / dt
    measures[('U-Net train', dtype)] = unet_rate
    print(f'{dtype}: steps compiled', flush=True)
  raw, others = interleaved_repeats(measures, args.repeats)
  rows = []
  for step in ('VAE train', 'U-Net train'):
    f32, b16 = max(raw[(step, 'float32')]), max(raw[(step, 'bfloat16')])
    rows.append({'step': step, 'float32_per_s': f32, 'bfloat16_per_s': b16,
                 'bfloat16_over_float32': b16 / f32})
    print(f'{step:12s} float32 {f32:10.1f}/s  bfloat16 {b16:10.1f}/s  bfloat16/float32 '
          f'{b16 / f32:.2f}x')
  finish(args.out, {'command': command_line('benchmarks.compute_dtype', argv), 'rows': rows},
         machine, others)


if __name__ == '__main__':
  main()
