"""Sampling images through VAR against the raster Transformer prior over the same tokens.

Command (from the repository root; the .txt beside the JSON is this output, through tee):

  .venv/bin/python -m benchmarks.var_sampling \
      --out results/benchmarks/var_sampling.json | tee results/benchmarks/var_sampling.txt

Both priors model the L = 104 tokens of the multi-scale tokenizer of
configs/vqvae.py:cpu,multiscale, and both samples are decoded by its decoder, as their
families draw them; each is timed as sample + decode at --batches, jitted, compiling
excluded:

* VAR: configs/var.py:cpu's network, the KV-cached sampler of `genjax.samplers.var`, one
  scale per step (6 steps), at guidance w = 1 and w = 2 (classifier-free: the batch twice);
* raster: configs/code_prior.py:cpu,var_baseline's causal Transformer of the same width
  and depth, the KV-cached sampler of `genjax.samplers.autoregressive`, one token per step.

Random-init parameters throughout (a sampler's cost is the same whatever the weights; the
runs' Fréchet distances are in docs/results/var.md). One more row times a single
teacher-forced pass of VAR's network over all L tokens, the compute every sampler of it
does at least once, to show how much of a sampler's time is per-step overhead. Reported:
images/s (interleaved repeats), sequential steps, and VAR's speed-up over the raster prior.
"""

from __future__ import annotations


import jax
import jax.numpy as jnp
import numpy as np

from benchmarks.harness import (CallTimer, arguments, begin, command_line, finish,
                                interleaved_repeats)
from benchmarks.loop_step import count
from benchmarks.vqvae_sampling import stage1
from configs import code_prior as code_prior_config
from configs import var as var_config
from genjax.families import var
from genjax.models.autoregressive import make_model
from genjax.models import multiscale_quantizer as multiscale
from genjax.models import pixels
from genjax.objectives import vqvae as vq_objectives
from genjax.samplers import autoregressive as ar_samplers
from genjax.samplers import var as var_samplers

IMAGE_SHAPE = (28, 28, 1)
NUM_CLASSES = 10


def parse_args(argv=None):
  p = arguments(__doc__, quick='a smoke check in seconds: batch 4, one repeat of >= 0.1 s')
  p.add_argument('--batches', default='16,256', help='comma-separated batch sizes')
  return p.parse_args(argv)


def tokenizer(rng):
  """The stage 1 both priors share: (objective, frozen params and state, facts)."""
  objective, frozen = stage1('cpu,multiscale', rng)
  decoder_params = count(frozen['params']['net']['params']['decoder'])
  return objective, frozen, {'scales': list(objective.scales),
                             'tokens': multiscale.sequence_length(objective.scales),
                             'num_codes': objective.num_codes, 'decoder_params': decoder_params}


def decoder(objective, frozen):
  return jax.jit(lambda tokens: vq_objectives.decoder_mean01(
      objective.likelihood, objective.decode_codes(frozen['params'], frozen['model_state'],
                                                   tokens.reshape(tokens.shape[0], 1, -1))[0]))


def var_network(objective, rng):
  """configs/var.py:cpu's network at random init: (model, params, one input [1, L-1, D])."""
  model = var.make_model(var_config.get_config('cpu').model, objective.scales,
                         objective.num_codes, NUM_CLASSES)
  inputs = jnp.zeros((1, multiscale.sequence_length(objective.scales) - 1,
                      objective.model.code_dim))
  return model, jax.jit(model.init)(rng, inputs, jnp.zeros((1,), jnp.int32)), inputs


def var_sampler(objective, frozen, rng, guidance: float):
  model, params, _ = var_network(objective, rng)
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
  model, params, inputs = var_network(objective, rng)
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
  env, machine = begin(__doc__)
  print(f'batches {batches}, {args.repeats} interleaved repeats, each timed >= '
        f'{args.min_time:g} s; random-init params; compiling and warming up ...', flush=True)
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
      timed = CallTimer(lambda sample=sample, b=b: sample(key, b), b, args.min_time)
      out = np.asarray(timed.out)
      want = ((b, tok['tokens'], tok['num_codes']) if name.startswith('VAR network')
              else (b,) + IMAGE_SHAPE)  # logits of every token, or decoded images
      if out.shape != want or not np.isfinite(out).all():
        raise AssertionError(f'{name}: output {out.shape}, want {want}')
      measures[f'{name} @ {b}'] = timed
  raw, others = interleaved_repeats({n: m.seconds for n, m in measures.items()}, args.repeats)
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
  finish(args.out, {
      'command': command_line('benchmarks.var_sampling', argv),
      'settings': {'batches': batches, 'repeats': args.repeats, 'min_time_s': args.min_time,
                   'tokenizer': 'configs/vqvae.py:cpu,multiscale model',
                   'var': 'configs/var.py:cpu model',
                   'raster': 'configs/code_prior.py:cpu,var_baseline model',
                   'params': 'random init', 'samplers': 'KV-cached, jitted'},
      'tokenizer': tok, 'samplers': facts, 'images_per_second_raw': per_s,
      'images_per_second_median': median, 'var_speedup_over_raster': speedups,
  }, machine, others, env)


if __name__ == '__main__':
  main()
