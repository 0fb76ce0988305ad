"""Sampling an image through the VQ-VAE's code prior against pixel by pixel, in one run.

Command (from the repository root; the .txt beside the JSON is this output, through tee):

  .venv/bin/python -m benchmarks.vqvae_sampling \
      --out results/benchmarks/vqvae_sampling.json | tee results/benchmarks/vqvae_sampling.txt

Two ways to draw a batch of --batch 28x28 images, each with the cached sampler
`genjax.samplers.autoregressive.sample` (jitted, compiling excluded):

* VQ-VAE: the code prior of configs/code_prior.py:cpu (a Gated PixelCNN over the 7x7 grid
  of K=512 codes) samples 49 codes in sequence; the stage-1 decoder of configs/vqvae.py:cpu
  maps them to pixels in one pass (the decoder mean in [0, 1], as the code-prior family
  draws). Timed apart (sample, decode) and together;
* pixels: the Gated PixelCNN of configs/autoregressive.py 'gated,cpu' over 28x28 binary
  images, 784 positions in sequence.

Random-init parameters throughout: a sampler's cost is the same whatever the weights.
Reported: seconds per image (interleaved repeats), the sequential step counts, the
speed-up of the VQ-VAE path over the pixel one, and decoding's share of the VQ-VAE path.
"""

from __future__ import annotations

import functools
import math

import jax
import jax.numpy as jnp
import numpy as np

from benchmarks.harness import (CallTimer, arguments, begin, best_and_median, command_line,
                                finish, interleaved_repeats)
from benchmarks.loop_step import count
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
  p = arguments(__doc__, quick='a smoke check in seconds: batch 4, one repeat of >= 0.1 s')
  p.add_argument('--batch', type=int, default=64, help='images per sampled batch')
  return p.parse_args(argv)


# ----------------------------------------------------------------------------- models


def stage1(variant: str, rng):
  """configs/vqvae.py:<variant>'s network at random init, with a random codebook:
  (objective, {'params', 'model_state'} as a second stage reads them frozen)."""
  s1 = vqvae_config.get_config(variant)
  objective = vq_objectives.make_objective(s1.model, s1.objective, IMAGE_SHAPE)
  net_rng, code_rng = jax.random.split(rng)
  net = jax.jit(objective.model.init)(net_rng, jnp.zeros((1,) + IMAGE_SHAPE))
  codebook = jax.random.normal(code_rng, (s1.model.num_codes, s1.model.code_dim))
  return objective, {'params': {'net': net},
                     'model_state': quantizer.ema_init(codebook)._asdict()}


def code_prior(rng):
  """The VQ-VAE path: (sample codes, decode canvas, facts), random init throughout."""
  s1_rng, prior_rng = jax.random.split(rng)
  objective, stage1_frozen = stage1('cpu', s1_rng)
  k, code_shape = objective.num_codes, objective.model.code_shape
  grid_shape = tuple(code_shape) + (1,)
  prior = make_model(code_prior_config.get_config('cpu').model, grid_shape, 0, num_codes=k)
  prior_params = jax.jit(prior.init)(
      prior_rng, pixels.canvas_from_codes(jnp.zeros((1,) + code_shape, jnp.int32), k))

  def sample(key, batch):
    return samplers.sample(prior, prior_params, key, grid_shape, batch)[0]

  # As the code-prior family's `decode`: codes -> the decoder's mean image in [0, 1].
  decode = jax.jit(lambda frozen, canvas: vq_objectives.decoder_mean01(
      objective.likelihood, objective.decode_codes(
          frozen['params'], frozen['model_state'],
          pixels.codes_from_canvas(canvas, k))[0]))
  codebook = stage1_frozen['model_state']['codebook']
  facts = {'code_shape': list(code_shape), 'num_codes': k, 'steps': math.prod(code_shape),
           'prior_params': count(prior_params),
           'decoder_params': count(stage1_frozen['params']['net']['params']['decoder']),
           'codebook_entries': int(codebook.size)}
  return sample, functools.partial(decode, stage1_frozen), facts


def pixel_model(rng):
  """The pixel path: (sample images, facts), random init."""
  model = make_model(ar_config.get_config('gated,cpu').model, IMAGE_SHAPE, 0)
  params = jax.jit(model.init)(rng, jnp.zeros((1,) + IMAGE_SHAPE))

  def sample(key, batch):
    return samplers.sample(model, params, key, IMAGE_SHAPE, batch)[0]

  return sample, {'steps': math.prod(IMAGE_SHAPE[:2]), 'params': count(params)}


# ----------------------------------------------------------------------------- main


def main(argv=None):
  args = parse_args(argv)
  if args.quick:
    args.batch, args.repeats, args.min_time = 4, 1, 0.1
  env, machine = begin(__doc__)
  print(f'batch {args.batch}, {args.repeats} interleaved repeats, each timed >= '
        f'{args.min_time:g} s; random-init params; compiling and warming up ...', flush=True)

  b = args.batch
  key = jax.random.PRNGKey(1)  # one key per sampler: the cost does not depend on it
  sample_codes, decode, vq = code_prior(jax.random.PRNGKey(0))
  sample_pixels, px = pixel_model(jax.random.PRNGKey(0))
  measures = {PRIOR: CallTimer(lambda: sample_codes(key, b), b, args.min_time)}
  codes = measures[PRIOR].out
  measures[DECODE] = CallTimer(lambda: decode(codes), b, args.min_time)
  measures[VQ_PATH] = CallTimer(lambda: decode(sample_codes(key, b)), b, args.min_time)
  measures[PIXELS] = CallTimer(lambda: sample_pixels(key, b), b, args.min_time)
  images = np.asarray(measures[VQ_PATH].out)
  if images.shape != (b,) + IMAGE_SHAPE or not np.isfinite(images).all():
    raise AssertionError(f'decoded samples: shape {images.shape}, want {(b,) + IMAGE_SHAPE}')

  raw, others = interleaved_repeats({name: m.seconds for name, m in measures.items()},
                                    args.repeats)
  best, median = best_and_median(raw, best=min)

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
  finish(args.out, {
      'command': command_line('benchmarks.vqvae_sampling', argv),
      'settings': {'batch': b, 'repeats': args.repeats, 'min_time_s': args.min_time,
                   'code_prior': 'configs/code_prior.py:cpu model',
                   'stage1': 'configs/vqvae.py:cpu model',
                   'pixels': "configs/autoregressive.py 'gated,cpu' model",
                   'params': 'random init', 'sampler': 'fast (cached), jitted'},
      'vqvae': vq, 'pixels': px, 'parameters': params, 'steps': steps,
      'seconds_per_image_best': best, 'seconds_per_image_median': median,
      'seconds_per_image_raw': raw, **summary,
  }, machine, others, env)


if __name__ == '__main__':
  main()
