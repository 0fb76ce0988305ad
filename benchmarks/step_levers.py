"""A/B runs behind the performance choices: each lever against its alternative, genjax only.

  .venv/bin/python -m benchmarks.step_levers [--only unet,glow,conv,sums] [--out results.json]

Each group's variants are interleaved in one process; every step is the loop's own
(benchmarks/loop_step.py), each variant set through its config where a field exists:

* unet: configs/diffusion.py:cpu's step unrolled with XLA's convolutions against a loop
  with taps (the config's now): compile seconds and images/s;
* glow: configs/glow.py:cpu's step (10 fused steps) unrolled against a loop;
* conv: the VQ-VAE's and DCGAN's steps (10 fused) with every convolution as XLA's, as
  taps, and as 'auto' chooses (`conv.choose` swapped while the step is traced: no config
  field sets every layer);
* sums: the MLP VAE's eval step with event sums as `jnp.sum` and as the matrix-vector
  product of `distributions._sum_event` (swapped while traced).
"""

from __future__ import annotations


import jax.numpy as jnp

from benchmarks import loop_step, vae_throughput
from benchmarks.harness import arguments, begin, command_line, finish, interleaved_repeats
from configs import diffusion as diffusion_config
from configs import gan as gan_config
from configs import glow as glow_config
from configs import vqvae as vqvae_config
from genjax import distributions
from genjax.families import diffusion, gan, glow, vqvae
from genjax.models import conv as conv_lib

GROUPS = ('unet', 'glow', 'conv', 'sums')


def parse_args(argv=None):
  p = arguments(__doc__, 2, 3.0)
  p.add_argument('--only', default=','.join(GROUPS))
  return p.parse_args(argv)


def _step(family_def, get_config, min_time, **changes):
  """(the loop step's rate, its compile seconds) for the 'cpu' config with `changes`."""
  step = loop_step.LoopStep(family_def, loop_step.benchmark_config(get_config, 'cpu',
                                                                   **changes), calls=3)
  return step.timer(min_time).rate, step.compile_s


def unet_variants(min_time):
  measures, compile_s = {}, {}
  for name, formulation, unroll in (('unrolled, XLA convs', 'xla', 0),
                                    ('loop, taps convs', 'taps', 1)):
    measures['unet', name], compile_s[name] = _step(
        diffusion.FAMILY, diffusion_config.get_config, min_time, unroll_steps=unroll,
        **{'model.conv': formulation})
  return measures, compile_s


def glow_variants(min_time):
  measures, compile_s = {}, {}
  for name, unroll in (('unrolled (default_unroll)', 0), ('loop', 1)):
    measures['glow', name], compile_s[name] = _step(
        glow.FAMILY, glow_config.get_config, min_time, steps_per_call=10, unroll_steps=unroll)
  return measures, compile_s


def conv_variants(min_time):
  measures, compile_s = {}, {}
  original = conv_lib.choose
  try:
    for formulation in ('xla', 'taps', 'auto'):
      conv_lib.choose = original if formulation == 'auto' else (
          lambda *a, f=formulation, **k: f)
      for name, family_def, get_config in (('VQ-VAE', vqvae.FAMILY, vqvae_config.get_config),
                                           ('DCGAN', gan.FAMILY, gan_config.get_config)):
        measures[name, formulation], compile_s[f'{name}, {formulation}'] = _step(
            family_def, get_config, min_time, steps_per_call=10)
  finally:
    conv_lib.choose = original
  return measures, compile_s


def sum_variants(min_time):
  step = vae_throughput.train_step(1)
  original = distributions._sum_event  # pylint: disable=protected-access

  def plain_sum(x, event_ndims):
    return jnp.sum(x, axis=tuple(range(x.ndim - event_ndims, x.ndim))) if event_ndims else x

  measures = {}
  try:
    for name, fn in (('jnp.sum', plain_sum), ('matrix-vector product', original)):
      distributions._sum_event = fn  # pylint: disable=protected-access
      measures['VAE eval sums', name] = vae_throughput.eval_timer(step, min_time).rate
  finally:
    distributions._sum_event = original  # pylint: disable=protected-access
  return measures, {}


BUILDERS = {'unet': unet_variants, 'glow': glow_variants, 'conv': conv_variants,
            'sums': sum_variants}


def main(argv=None):
  args = parse_args(argv)
  env, machine = begin(__doc__)
  measures, compile_s = {}, {}
  for group in args.only.split(','):
    m, c = BUILDERS[group](args.min_time)
    measures.update(m)
    compile_s.update(c)
    print(f'{group}: built; compile seconds {c}', flush=True)
  raw, others = interleaved_repeats(measures, args.repeats)
  rows = []
  for (group, variant), rates in raw.items():
    rows.append({'group': group, 'variant': variant, 'best_per_s': max(rates),
                 'per_repeat': rates})
    print(f'{group:14s} {variant:28s} best {max(rates):10.1f}/s  repeats '
          + ', '.join(f'{r:.1f}' for r in rates))
  finish(args.out, {'command': command_line('benchmarks.step_levers', argv), 'rows': rows,
                    'compile_seconds': compile_s}, machine, others, env)


if __name__ == '__main__':
  main()
