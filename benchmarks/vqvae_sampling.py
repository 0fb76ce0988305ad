"""Sampling an image through the VQ-VAE's code prior against pixel by pixel, in one run.

Command (from the repository root; the .txt beside the JSON is this output, through tee):

  .venv/bin/python -m benchmarks.vqvae_sampling \
      --out results/benchmarks/vqvae_sampling.json | tee results/benchmarks/vqvae_sampling.txt

Two ways to draw a batch of --batch 28x28 images, each with the fast cached sampler
`genjax.samplers.autoregressive.sample` (jitted; compiling excluded by a warm-up call;
every call ended by `block_until_ready`):

* VQ-VAE: the code prior of configs/code_prior.py:cpu (a Gated PixelCNN of 8 layers and 64
  channels over the 7x7 grid of K=512 codes, `make_model(m, (7, 7, 1), 0, num_codes=512)`)
  samples 49 codes in sequence; the stage-1 decoder of configs/vqvae.py:cpu then maps them
  to pixels in one pass (`make_objective(...).decode_codes`, jitted with the decoder mean
  to [0, 1], as the code-prior family's figures and Fréchet samples do). Timed apart
  (sample, decode) and together (sample then decode, as the family draws);
* pixels: the Gated PixelCNN of configs/autoregressive.py 'gated,cpu' (10 layers, 32
  channels, Bernoulli head) over 28x28 binary images, `make_model(m, (28, 28, 1), 0)`,
  784 positions in sequence.

Random-init parameters for every network: a sampler's cost is the same whatever the
weights (the same network at every step, draws of fixed shape), so no trained run is read.
Reported: seconds per image (best and median of --repeats repeats, each measurement
running at least --min-time seconds, repeats interleaved so that background load hits
every measurement alike), the sequential step counts (49 against 784: 16x fewer), the
measured speed-up of the VQ-VAE path over the pixel one, and the share of the VQ-VAE
path's time spent decoding. Timings are wall-clock under whatever else the machine runs;
the other processes' share of the CPUs is printed and recorded.
"""

from __future__ import annotations

import argparse
import functools
import math

import jax
import jax.numpy as jnp
import numpy as np

from benchmarks.harness import (command_line, interleaved_repeats, jax_environment,
                                machine_busy, print_machine_facts, report_load, time_calls,
                                write_json)
from configs import autoregressive as ar_config
from configs import code_prior as code_prior_config
from configs import vqvae as vqvae_config
from genjax.models.autoregressive import make_model
from genjax.models import pixels, quantizer
from genjax.objectives import vqvae as vq_objectives
from genjax.samplers import autoregressive as samplers

IMAGE_SHAPE = (28, 28, 1)
PRIOR = 'code prior: sample codes'
DECODE = 'stage 1: decode codes'
VQ_PATH = 'VQ-VAE: sample + decode'
PIXELS = 'pixels: Gated PixelCNN'


def parse_args(argv=None):
  p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
  p.add_argument('--out', default='', help='write the results as JSON to this path')
  p.add_argument('--batch', type=int, default=64, help='images per sampled batch')
  p.add_argument('--repeats', type=int, default=3, help='interleaved repeats')
  p.add_argument('--min-time', type=float, default=2.0,
                 help='seconds each timed measurement runs at least')
  p.add_argument('--quick', action='store_true',
                 help='a smoke check in seconds: batch 4, one repeat of >= 0.1 s')
  return p.parse_args(argv)


def count(params) -> int:
  return int(sum(x.size for x in jax.tree.leaves(params)))


# ----------------------------------------------------------------------------- models


def code_prior(rng):
  """The VQ-VAE path: (sample codes, decode canvas, facts), random init throughout."""
  s1 = vqvae_config.get_config('cpu')
  objective = vq_objectives.make_objective(s1.model, s1.objective, IMAGE_SHAPE)
  k, code_shape = s1.model.num_codes, objective.model.code_shape
  grid_shape = tuple(code_shape) + (1,)
  prior = make_model(code_prior_config.get_config('cpu').model, grid_shape, 0, num_codes=k)
  net_rng, code_rng, prior_rng = jax.random.split(rng, 3)
  net = jax.jit(objective.model.init)(net_rng, jnp.zeros((1,) + IMAGE_SHAPE))
  codebook = jax.random.normal(code_rng, (k, s1.model.code_dim))
  stage1 = {'params': {'net': net},
            'model_state': quantizer.ema_init(codebook)._asdict()}
  prior_params = jax.jit(prior.init)(
      prior_rng, pixels.canvas_from_codes(jnp.zeros((1,) + code_shape, jnp.int32), k))

  def sample(key, batch):
    return samplers.sample(prior, prior_params, key, grid_shape, batch)[0]

  # As the code-prior family's `decode`: codes -> the decoder's mean image in [0, 1].
  decode = jax.jit(lambda frozen, canvas: vq_objectives.decoder_mean01(
      objective.likelihood, objective.decode_codes(
          frozen['params'], frozen['model_state'],
          pixels.codes_from_canvas(canvas, k))[0]))
  facts = {'code_shape': list(code_shape), 'num_codes': k, 'steps': math.prod(code_shape),
           'prior_params': count(prior_params),
           'decoder_params': count(net['params']['decoder']),
           'codebook_entries': int(codebook.size)}
  return sample, functools.partial(decode, stage1), facts


def pixel_model(rng):
  """The pixel path: (sample images, facts), random init."""
  model = make_model(ar_config.get_config('gated,cpu').model, IMAGE_SHAPE, 0)
  params = jax.jit(model.init)(rng, jnp.zeros((1,) + IMAGE_SHAPE))

  def sample(key, batch):
    return samplers.sample(model, params, key, IMAGE_SHAPE, batch)[0]

  return sample, {'steps': math.prod(IMAGE_SHAPE[:2]), 'params': count(params)}


class Timed:
  """Seconds per image of `fn()` (which returns arrays), over calls lasting >= min_time."""

  def __init__(self, fn, batch: int, min_time: float):
    self.fn, self.batch, self.min_time = fn, batch, min_time
    self.out = jax.block_until_ready(fn())  # compile and warm up

  def run_n(self, n: int) -> None:
    for _ in range(n):
      out = self.fn()
    jax.block_until_ready(out)

  def measure(self) -> float:
    self.n, dt = time_calls(self.run_n, self.min_time, getattr(self, 'n', 1))
    return dt / (self.n * self.batch)


# ----------------------------------------------------------------------------- main


def main(argv=None):
  args = parse_args(argv)
  if args.quick:
    args.batch, args.repeats, args.min_time = 4, 1, 0.1
  env = jax_environment()
  print(__doc__.split('\n\n')[0])
  machine = print_machine_facts()
  print(f"jax {env['jax']} on {env['devices']}, {env['cpu_count']} CPUs, "
        f"XLA_FLAGS={env['XLA_FLAGS']!r}; batch {args.batch}, {args.repeats} interleaved "
        f'repeats, each timed >= {args.min_time:g} s; random-init params; load average '
        f"{env['loadavg_at_start'][0]:.2f}")
  print('compiling and warming up ...', flush=True)

  b = args.batch
  key = jax.random.PRNGKey(1)  # one key per sampler: the cost does not depend on it
  sample_codes, decode, vq = code_prior(jax.random.PRNGKey(0))
  sample_pixels, px = pixel_model(jax.random.PRNGKey(0))
  measures = {PRIOR: Timed(lambda: sample_codes(key, b), b, args.min_time)}
  codes = measures[PRIOR].out
  measures[DECODE] = Timed(lambda: decode(codes), b, args.min_time)
  measures[VQ_PATH] = Timed(lambda: decode(sample_codes(key, b)), b, args.min_time)
  measures[PIXELS] = Timed(lambda: sample_pixels(key, b), b, args.min_time)
  images = np.asarray(measures[VQ_PATH].out)
  if images.shape != (b,) + IMAGE_SHAPE or not np.isfinite(images).all():
    raise AssertionError(f'decoded samples: shape {images.shape}, want {(b,) + IMAGE_SHAPE}')

  raw, others = interleaved_repeats({name: m.measure for name, m in measures.items()},
                                    args.repeats)
  busy = machine_busy(others)
  best = {name: min(v) for name, v in raw.items()}
  median = {name: float(np.median(v)) for name, v in raw.items()}

  steps = {PRIOR: vq['steps'], DECODE: 1, VQ_PATH: vq['steps'], PIXELS: px['steps']}
  params = {PRIOR: vq['prior_params'], DECODE: vq['decoder_params'],
            VQ_PATH: vq['prior_params'] + vq['decoder_params'], PIXELS: px['params']}
  print()
  print(f"{'measurement':28s} {'steps':>6s} {'params':>9s} {'best ms/img':>12s} "
        f"{'median ms/img':>14s}  raw (ms/img)")
  print('-' * 92)
  for name in measures:
    print(f'{name:28s} {steps[name]:6d} {params[name]:9,d} {1e3 * best[name]:12.3f} '
          f'{1e3 * median[name]:14.3f}  ' + ', '.join(f'{1e3 * v:.3f}' for v in raw[name]))
  print(f"(stage 1's codebook, {vq['num_codes']} x {vq['codebook_entries'] // vq['num_codes']}"
        f" = {vq['codebook_entries']:,} entries, is model state, not counted above)")

  step_ratio = px['steps'] / vq['steps']
  speedup = median[PIXELS] / median[VQ_PATH]
  per_repeat = [p / v for p, v in zip(raw[PIXELS], raw[VQ_PATH])]
  decode_share = median[DECODE] / (median[PRIOR] + median[DECODE])
  summary = {
      'sequential_steps': {'vqvae_code_prior': vq['steps'], 'pixels': px['steps']},
      'step_ratio': step_ratio,
      'speedup_pixels_over_vqvae': speedup,
      'speedup_per_repeat': per_repeat,
      'decode_share_of_vqvae_path': decode_share,
      'sum_of_parts_over_measured_path': (median[PRIOR] + median[DECODE]) / median[VQ_PATH],
  }
  print()
  print(f"sequential steps: {vq['steps']} codes ({vq['code_shape'][0]}x{vq['code_shape'][1]}) "
        f"against {px['steps']} pixels (28x28): {step_ratio:.0f}x fewer")
  print(f'measured speed-up of the VQ-VAE path (sample + decode) over pixels (medians): '
        f'{speedup:.1f}x; per repeat: ' + ', '.join(f'{v:.1f}' for v in per_repeat))
  print(f"decoding's share of the VQ-VAE path: {decode_share:.1%} "
        f'(decode / (sample codes + decode), medians); sample + decode timed together is '
        f"{1 / summary['sum_of_parts_over_measured_path']:.2f}x the sum of the parts")
  report_load(env, others, busy)

  if args.out:
    write_json(args.out, {
        'command': command_line('benchmarks.vqvae_sampling', argv), 'environment': env,
        'settings': {'batch': b, 'repeats': args.repeats, 'min_time_s': args.min_time,
                     'code_prior': 'configs/code_prior.py:cpu model',
                     'stage1': 'configs/vqvae.py:cpu model',
                     'pixels': "configs/autoregressive.py 'gated,cpu' model",
                     'params': 'random init', 'sampler': 'fast (cached), jitted'},
        'vqvae': vq, 'pixels': px, 'parameters': params, 'steps': steps,
        'seconds_per_image_best': best, 'seconds_per_image_median': median,
        'seconds_per_image_raw': raw, **summary, 'machine_busy': busy,
    }, machine)


if __name__ == '__main__':
  main()
