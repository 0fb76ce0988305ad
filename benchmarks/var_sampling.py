"""Sampling images through VAR against the raster Transformer prior over the same tokens.

Command (from the repository root; the .txt beside the JSON is this output, through tee):

  .venv/bin/python -m benchmarks.var_sampling \
      --out results/benchmarks/var_sampling.json | tee results/benchmarks/var_sampling.txt

Both priors model the L = 104 tokens of the multi-scale tokenizer of
configs/vqvae.py:cpu,multiscale (scales 1, 2, 3, 4, 5, 7; K = 512 codes of D = 32) and
both samples are decoded by its decoder (the mean, in [0, 1]), as their families draw
them; each is timed as sample + decode at --batches (default 16 and 256), jitted,
compiling excluded by a warm-up call, every call ended by `block_until_ready`:

* VAR: configs/var.py:cpu's network (4 blocks of width 64, class-conditional), the
  KV-cached sampler of `genjax.samplers.var`, one scale per step (6 steps), at guidance
  w = 1 (the conditional model: one pass a scale) and w = 2 (classifier-free guidance: the
  batch twice, with its labels and with the null class);
* raster: configs/code_prior.py:cpu,var_baseline's network (the causal Transformer
  of the same width and depth, class-conditional), the KV-cached sampler of
  `genjax.samplers.autoregressive`, one token per step (104 steps).

Random-init parameters for every network: a sampler's cost is the same whatever the
weights, so no trained run is read (the runs' Fréchet distances are in RESULTS.md).
Reported: images/s (medians and each of --repeats interleaved repeats, each measurement
running at least --min-time seconds), sequential steps, and VAR's speed-up over the
raster prior. One more row times a single teacher-forced pass of VAR's network over all
L tokens (no sampling or decoding), the compute every sampler of these networks does at
least once: a sampler's images/s against it shows how much of its time is the network's
arithmetic and how much is per-step overhead. The other processes' share of the CPUs is
printed and recorded.
"""

from __future__ import annotations

import argparse

import jax
import jax.numpy as jnp
import numpy as np

from benchmarks.harness import (command_line, interleaved_repeats, jax_environment,
                                machine_busy, print_machine_facts, report_load, write_json)
from benchmarks.vqvae_sampling import Timed, count
from configs import code_prior as code_prior_config
from configs import var as var_config
from configs import vqvae as vqvae_config
from genjax.families import var
from genjax.models.autoregressive import make_model
from genjax.models import multiscale_quantizer as multiscale
from genjax.models import pixels, quantizer
from genjax.objectives import vqvae as vq_objectives
from genjax.samplers import autoregressive as ar_samplers
from genjax.samplers import var as var_samplers

IMAGE_SHAPE = (28, 28, 1)
NUM_CLASSES = 10


def parse_args(argv=None):
  p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
  p.add_argument('--out', default='', help='write the results as JSON to this path')
  p.add_argument('--batches', default='16,256', help='comma-separated batch sizes')
  p.add_argument('--repeats', type=int, default=3, help='interleaved repeats')
  p.add_argument('--min-time', type=float, default=2.0,
                 help='seconds each timed measurement runs at least')
  p.add_argument('--quick', action='store_true',
                 help='a smoke check in seconds: batch 4, one repeat of >= 0.1 s')
  return p.parse_args(argv)


def tokenizer(rng):
  """The stage 1 both priors share: (objective, frozen params and state, facts)."""
  s1 = vqvae_config.get_config('cpu,multiscale')
  objective = vq_objectives.make_objective(s1.model, s1.objective, IMAGE_SHAPE)
  net_rng, code_rng = jax.random.split(rng)
  net = jax.jit(objective.model.init)(net_rng, jnp.zeros((1,) + IMAGE_SHAPE))
  codebook = jax.random.normal(code_rng, (s1.model.num_codes, s1.model.code_dim))
  frozen = {'params': {'net': net}, 'model_state': quantizer.ema_init(codebook)._asdict()}
  return objective, frozen, {'scales': list(objective.scales),
                             'tokens': multiscale.sequence_length(objective.scales),
                             'num_codes': s1.model.num_codes,
                             'decoder_params': count(net['params']['decoder'])}


def decoder(objective, frozen):
  return jax.jit(lambda tokens: vq_objectives.decoder_mean01(
      objective.likelihood, objective.decode_codes(frozen['params'], frozen['model_state'],
                                                   tokens.reshape(tokens.shape[0], 1, -1))[0]))


def var_sampler(objective, frozen, rng, guidance: float):
  m = var_config.get_config('cpu').model
  model = var.make_model(m, objective.scales, objective.num_codes, NUM_CLASSES)
  length = multiscale.sequence_length(objective.scales)
  params = jax.jit(model.init)(rng, jnp.zeros((1, length - 1, objective.model.code_dim)),
                               jnp.zeros((1,), jnp.int32))
  decode = decoder(objective, frozen)

  def sample(key, batch):
    y = jnp.arange(batch) % NUM_CLASSES
    tokens = var_samplers.sample(model, params, objective, frozen['params'],
                                 frozen['model_state'], key, batch, y, guidance=guidance)[0]
    return decode(tokens)

  return sample, {'steps': len(objective.scales), 'params': count(params)}


def var_forward(objective, rng):
  """One teacher-forced pass of VAR's network over all L tokens (no sampling, no
  decoding): the compute any sampler of it must do at least once."""
  m = var_config.get_config('cpu').model
  model = var.make_model(m, objective.scales, objective.num_codes, NUM_CLASSES)
  length = multiscale.sequence_length(objective.scales)
  inputs = jnp.zeros((1, length - 1, objective.model.code_dim))
  params = jax.jit(model.init)(rng, inputs, jnp.zeros((1,), jnp.int32))
  forward = jax.jit(model.apply)

  def run(key, batch):
    del key
    return forward(params, jnp.zeros((batch,) + inputs.shape[1:]),
                   jnp.arange(batch) % NUM_CLASSES)

  return run, {'steps': 1, 'params': count(params)}


def raster_sampler(objective, frozen, rng):
  m = code_prior_config.get_config('cpu,var_baseline').model
  k, grid = objective.num_codes, tuple(objective.token_shape) + (1,)
  model = make_model(m, grid, NUM_CLASSES, num_codes=k)
  params = jax.jit(model.init)(rng, pixels.canvas_from_codes(
      jnp.zeros((1,) + grid[:2], jnp.int32), k), jnp.zeros((1,), jnp.int32))
  decode = decoder(objective, frozen)

  def sample(key, batch):
    y = jnp.arange(batch) % NUM_CLASSES
    canvas = ar_samplers.sample(model, params, key, grid, batch, y)[0]
    return decode(pixels.codes_from_canvas(canvas, k))

  return sample, {'steps': grid[0] * grid[1], 'params': count(params)}


def main(argv=None):
  args = parse_args(argv)
  batches = [int(b) for b in args.batches.split(',')]
  if args.quick:
    batches, args.repeats, args.min_time = [4], 1, 0.1
  env = jax_environment()
  print(__doc__.split('\n\n')[0])
  machine = print_machine_facts()
  print(f"jax {env['jax']} on {env['devices']}, {env['cpu_count']} CPUs; batches {batches}, "
        f'{args.repeats} interleaved repeats, each timed >= {args.min_time:g} s; random-init '
        f"params; load average {env['loadavg_at_start'][0]:.2f}")
  print('compiling and warming up ...', flush=True)
  objective, frozen, tok = tokenizer(jax.random.PRNGKey(0))
  samplers = {'VAR, w = 1': var_sampler(objective, frozen, jax.random.PRNGKey(1), 1.0),
              'VAR, w = 2 (guided)': var_sampler(objective, frozen, jax.random.PRNGKey(1),
                                                 2.0),
              'raster Transformer': raster_sampler(objective, frozen, jax.random.PRNGKey(2)),
              'VAR network, one full pass': var_forward(objective, jax.random.PRNGKey(1))}
  key = jax.random.PRNGKey(3)
  measures, facts = {}, {}
  for name, (sample, f) in samplers.items():
    facts[name] = f
    for b in batches:
      timed = Timed(lambda sample=sample, b=b: sample(key, b), b, args.min_time)
      out = np.asarray(timed.out)
      want = ((b, tok['tokens'], tok['num_codes']) if name.startswith('VAR network')
              else (b,) + IMAGE_SHAPE)  # logits of every token, or decoded images
      if out.shape != want or not np.isfinite(out).all():
        raise AssertionError(f'{name}: output {out.shape}, want {want}')
      measures[f'{name} @ {b}'] = timed
  raw, others = interleaved_repeats({n: m.measure for n, m in measures.items()}, args.repeats)
  busy = machine_busy(others)
  per_s = {n: [1.0 / v for v in vals] for n, vals in raw.items()}
  median = {n: float(np.median(v)) for n, v in per_s.items()}
  print()
  print(f"{'sampler @ batch':32s} {'steps':>6s} {'params':>9s} {'median img/s':>13s}  "
        'per repeat (img/s)')
  print('-' * 86)
  for name in measures:
    f = facts[name.split(' @ ')[0]]
    print(f"{name:32s} {f['steps']:6d} {f['params']:9,d} {median[name]:13.1f}  "
          + ', '.join(f'{v:.1f}' for v in per_s[name]))
  speedups = {}
  for b in batches:
    for w in ('VAR, w = 1', 'VAR, w = 2 (guided)'):
      speedups[f'{w} @ {b}'] = median[f'{w} @ {b}'] / median[f'raster Transformer @ {b}']
  print()
  for name, s in speedups.items():
    print(f'{name}: {s:.1f}x the raster prior\'s images/s (medians)')
  for b in batches:
    full = median[f'VAR network, one full pass @ {b}']
    print(f'@ {b}: VAR samples at {median[f"VAR, w = 1 @ {b}"] / full:.2f}x and the raster '
          f'prior at {median[f"raster Transformer @ {b}"] / full:.2f}x the images/s of one '
          "full pass of VAR's network")
  print(f"(both decode with the tokenizer's decoder, {tok['decoder_params']:,} params, "
        f"included in the times; {tok['tokens']} tokens of scales {tok['scales']})")
  report_load(env, others, busy)
  if args.out:
    write_json(args.out, {
        'command': command_line('benchmarks.var_sampling', argv), 'environment': env,
        'settings': {'batches': batches, 'repeats': args.repeats, 'min_time_s': args.min_time,
                     'tokenizer': 'configs/vqvae.py:cpu,multiscale model',
                     'var': 'configs/var.py:cpu model',
                     'raster': 'configs/code_prior.py:cpu,var_baseline model',
                     'params': 'random init', 'samplers': 'KV-cached, jitted'},
        'tokenizer': tok, 'samplers': facts, 'images_per_second_raw': per_s,
        'images_per_second_median': median, 'var_speedup_over_raster': speedups,
        'machine_busy': busy,
    }, machine)


if __name__ == '__main__':
  main()
