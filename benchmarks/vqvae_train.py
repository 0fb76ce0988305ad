"""genjax vs PyTorch VQ-VAE training on this CPU, side by side, in one run.

Command (from the repository root; the .txt beside the JSON is this output, through tee):

  .venv/bin/python -m benchmarks.vqvae_train \
      --out results/benchmarks/vqvae_train.json | tee results/benchmarks/vqvae_train.txt

Both sides train the network of configs/vqvae.py:cpu (32 channels, 2 stride-2 layers to
7x7 codes of D=64, K=512; EMA codebook with dead-code restart; beta 0.25; the discretized
logistic decoder) with Adam 3e-4 on batches of 64 images (k/255). genjax runs the loop's
own step (benchmarks/loop_step.py; the EMA codebook as model state, set by k-means on a
first batch); PyTorch benchmarks/torch_vqvae.py (the same layers, quantiser work and NLL)
with the data preloaded. Parameter counts are checked equal. Timed: examples/s,
interleaved repeats; the ratio is of the medians. Levers tried: docs/results/performance.md.
"""

from __future__ import annotations

from benchmarks import loop_step
from configs import vqvae as vqvae_config
from genjax.families import vqvae


def torch_implements(config) -> dict:
  m, o, opt = config.model, config.objective, config.optimizer
  return {'model.likelihood': (m.likelihood, 'discretized_logistic'),
          'objective.codebook': (o.codebook, 'ema'), 'optimizer.name': (opt.name, 'adam'),
          'optimizer.grad_clip_norm': (opt.grad_clip_norm, 0.0),
          'optimizer.weight_decay': (opt.weight_decay, 0.0),
          'optimizer.warmup_steps': (opt.warmup_steps, 0)}


def torch_side(config, images01, threads):
  from benchmarks import torch_vqvae  # pylint: disable=g-import-not-at-top
  m, o = config.model, config.objective
  return torch_vqvae.TorchTrain(
      images01, batch_size=config.batch_size, lr=config.optimizer.learning_rate,
      channels=m.channels, res_hidden=m.res_hidden, num_res_blocks=m.num_res_blocks,
      downsamples=m.downsamples, code_dim=m.code_dim, num_codes=m.num_codes, beta=o.beta,
      ema_decay=o.ema_decay, dead_code_threshold=o.dead_code_threshold, threads=threads)


BENCHMARK = loop_step.OneStep(
    module='vqvae_train', config_file='configs/vqvae.py', family_def=vqvae.FAMILY,
    get_config=vqvae_config.get_config, torch_implements=torch_implements,
    torch_side=torch_side,
    counts=lambda params: {'all': loop_step.count(params)},
    torch_counts=lambda t: {'all': t.parameter_count()},
    facts=lambda step: {'codebook_shape': list(step.state.model_state['codebook'].shape)},
    loss_note='losses per image in nats: the discretized logistic NLL plus beta x the '
              'commitment loss, at the last timed step of each side')


def main(argv=None):
  loop_step.main(BENCHMARK, __doc__, argv)


if __name__ == '__main__':
  main()
