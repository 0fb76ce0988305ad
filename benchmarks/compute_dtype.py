"""compute_dtype on this CPU: the train steps in bfloat16 against float32, side by side.

  .venv/bin/python -m benchmarks.compute_dtype [--out results.json]

Times the loop's own train steps (benchmarks/loop_step.py) of the MLP VAE
(benchmarks/vae_throughput.py's, 10 fused steps) and the DDPM U-Net (configs/diffusion.py:cpu)
with `compute_dtype` float32 and bfloat16, interleaved (benchmarks/harness.py). bfloat16 is
the option for accelerators (TPU and recent GPUs multiply bfloat16 natively); this records
what it does on the CPU, where XLA may have no fast bfloat16 kernels.
"""

from __future__ import annotations


from benchmarks import loop_step, vae_throughput
from benchmarks.harness import arguments, begin, command_line, finish, interleaved_repeats
from configs import diffusion as diffusion_config
from genjax.families import diffusion

DTYPES = ('float32', 'bfloat16')


def main(argv=None):
  args = arguments(__doc__, 2, 4.0).parse_args(argv)
  env, machine = begin(__doc__)
  timers = {}
  for dtype in DTYPES:
    timers['VAE train', dtype] = vae_throughput.train_step(10, dtype).timer(args.min_time)
    config = loop_step.benchmark_config(diffusion_config.get_config, 'cpu', compute_dtype=dtype)
    timers['U-Net train', dtype] = loop_step.LoopStep(diffusion.FAMILY, config,
                                                      calls=3).timer(args.min_time)
    print(f'{dtype}: steps compiled', flush=True)
  raw, others = interleaved_repeats({key: t.rate for key, t in timers.items()}, args.repeats)
  rows = []
  for step in ('VAE train', 'U-Net train'):
    f32, b16 = max(raw[(step, 'float32')]), max(raw[(step, 'bfloat16')])
    rows.append({'step': step, 'float32_per_s': f32, 'bfloat16_per_s': b16,
                 'bfloat16_over_float32': b16 / f32})
    print(f'{step:12s} float32 {f32:10.1f}/s  bfloat16 {b16:10.1f}/s  bfloat16/float32 '
          f'{b16 / f32:.2f}x')
  finish(args.out, {'command': command_line('benchmarks.compute_dtype', argv), 'rows': rows},
         machine, others, env)


if __name__ == '__main__':
  main()
