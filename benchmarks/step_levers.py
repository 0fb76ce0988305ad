"""A/B runs behind the performance choices: each lever against its alternative, genjax only.

  .venv/bin/python -m benchmarks.step_levers [--only unet,glow,conv,sums] [--out results.json]

Each group is measured in one process, its variants interleaved (benchmarks/harness.py):

* unet: configs/diffusion.py:cpu's train step (10 fused steps, the loop's own step built
  by diffusion_setup) unrolled with XLA's convolutions (the earlier setting) against a
  loop of one step's body with taps (the config's now): compile seconds and images/s.
* glow: configs/glow.py's step (glow_train's) unrolled (`default_unroll`) against a loop.
* conv: the VQ-VAE's and DCGAN's steps (10 fused, unrolled) with every convolution as
  XLA's, as taps, and as 'auto' chooses.
* sums: the MLP VAE's evaluation (vae_throughput's) with event sums as `jnp.sum` and as the
  matrix-vector product `distributions._sum_event` uses.

Variants are set by swapping a library function while a step is traced (the formulation
rule, the scan's unroll, the event sum); the parameters are the same in every variant.
"""

from __future__ import annotations

import argparse
import functools

import jax
import jax.numpy as jnp

from benchmarks import diffusion_setup, diffusion_throughput, gan_train, glow_train
from benchmarks import vae_throughput, vqvae_train
from benchmarks.harness import (command_line, finish, interleaved_repeats, load_data, 
                                print_machine_facts, time_calls)
from configs import glow as glow_config
from configs import gan as gan_config
from configs import vqvae as vqvae_config
from genjax import distributions
from genjax.models import conv as conv_lib

GROUPS = ('unet', 'glow', 'conv', 'sums')


def parse_args(argv=None):
  p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
  p.add_argument('--only', default=','.join(GROUPS))
  p.add_argument('--repeats', type=int, default=2)
  p.add_argument('--min-time', type=float, default=3.0)
  p.add_argument('--out', default='')
  return p.parse_args(argv)


def _rate(measure_obj, min_time):
  """A no-argument measure of an object with .measure(min_time)."""
  return lambda: measure_obj.measure(min_time)


def unet_variants(min_time):
  """(measures, compile seconds) of the U-Net's step: unrolled XLA against a taps loop."""
  measures, compile_s = {}, {}
  for name, formulation, unroll in (('unrolled, XLA convs', 'xla', 0),
                                    ('loop, taps convs', 'taps', 1)):
    config = diffusion_setup.benchmark_config(diffusion_throughput.parse_args(
        ['--config-variant', 'cpu', '--conv', formulation]))
    config.unroll_steps = unroll
    arrays, _ = diffusion_setup.load_train_arrays(config)
    side = diffusion_setup.GenjaxDiffusion(config, arrays)
    compile_s[name] = side.compile_seconds['train']
    m = side.train_measure()
    m.run_n(1)

    def rate(m=m):
      m.n, dt = time_calls(m.run_n, min_time, m.n)
      return m.n * m.images_per_call / dt
    measures[('unet', name)] = rate
  return measures, compile_s


def glow_variants(min_time):
  measures, compile_s = {}, {}
  config = glow_config.get_config(glow_train.CONFIG)
  config.steps_per_call = 10
  images01, test, _ = glow_train.load_images(2048)
  original = glow_train.make_train_step
  for name, unroll in (('unrolled (default_unroll)', 0), ('loop', 1)):
    glow_train.make_train_step = functools.partial(original, unroll=unroll)
    side = glow_train.GenjaxTrain(config, images01, test)
    compile_s[name] = side.compile_s
    measures[('glow', name)] = _rate(side, min_time)
  glow_train.make_train_step = original
  return measures, compile_s


def conv_variants(min_time):
  measures, compile_s = {}, {}
  vq = vqvae_config.get_config(vqvae_train.CONFIG)
  vq.steps_per_call = 10
  vq_images, vq_test, _ = vqvae_train.load_images(2048)
  gan = gan_config.get_config(gan_train.CONFIG)
  gan.steps_per_call = 10
  gan.eval.frechet_samples = 0  # no classifier: the FD is evaluation, not the step
  gan_images, gan_labels, gan_test, _ = gan_train.load_images(2048)
  original = conv_lib.choose
  for formulation in ('xla', 'taps', 'auto'):
    conv_lib.choose = original if formulation == 'auto' else (
        lambda *a, f=formulation, **k: f)
    vq_side = vqvae_train.GenjaxTrain(vq, vq_images, vq_test)
    gan_side = gan_train.GenjaxTrain(gan, gan_images, gan_labels, gan_test)
    compile_s[f'VQ-VAE, {formulation}'] = vq_side.compile_s
    compile_s[f'DCGAN, {formulation}'] = gan_side.compile_s
    measures[('VQ-VAE', formulation)] = _rate(vq_side, min_time)
    measures[('DCGAN', formulation)] = _rate(gan_side, min_time)
  conv_lib.choose = original
  return measures, compile_s


def sum_variants(min_time):
  images, _ = load_data(10000)
  model = vae_throughput.VAE(image_shape=vae_throughput.IMAGE_SHAPE, latent_dim=20,
                             hidden=(400,), activation='relu')
  params = model.init(jax.random.PRNGKey(0), images[:1])
  original = distributions._sum_event

  def plain_sum(x, event_ndims):
    return jnp.sum(x, axis=tuple(range(x.ndim - event_ndims, x.ndim))) if event_ndims else x

  measures = {}
  for name, fn in (('jnp.sum', plain_sum), ('matrix-vector product', original)):
    distributions._sum_event = fn
    side = vae_throughput.GenjaxEval(images, params, '')  # compiles with fn in place
    measures[('VAE eval sums', name)] = _rate(side, min_time)
  distributions._sum_event = original
  return measures, {}


BUILDERS = {'unet': unet_variants, 'glow': glow_variants, 'conv': conv_variants,
            'sums': sum_variants}


def main(argv=None):
  args = parse_args(argv)
  machine = print_machine_facts()
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
                    'compile_seconds': compile_s}, machine, others)


if __name__ == '__main__':
  main()
