"""Stage 1 of a VQ-VAE on 8-bit Fashion-MNIST (van den Oord et al., 2017).

    python -m experiments.vqvae --config=configs/vqvae.py:cpu --workdir=runs/vqvae

Variants, comma-separated after ':': smoke (seconds, on 8x8 digits), cpu (docs/results/vqvae.md's
run: a quarter of the width, batch 64, 8,000 steps), codes14 (14x14 codes: one stride-2
layer), loss (the codebook as a parameter moved by its loss, no restarts), gaussian (the
discretized Gaussian of the DDPM bound instead of the discretized logistic), mse (a
squared-error decoder: no bound), multiscale (VAR's multi-scale residual tokenizer:
scales (1, 2, 3, 4, 5, 7), D = 32 as VAR's Cvae; the stage 1 of experiments/var.py),
mnist.
Default: K=512 codes of D=64 on a 7x7 grid, 128 channels and 2 residual blocks, EMA
codebook (decay 0.99) with k-means init and dead-code restart, beta=0.25, Adam 2e-4,
batch 128, 30 epochs. van den Oord et al. train 250k steps of batch 128 on CIFAR-10.
"""

from configs import variants
from genjax.config import lock
from genjax.families import vqvae


def get_config(arg: str | None = None):
  c = vqvae.schema()
  c.family = 'vqvae'
  c.data.binarize = 'none'
  c.batch_size = 128
  c.total_epochs = 30.0
  c.steps_per_call = 10
  c.log_every = 200
  c.eval_every = 4690
  c.ckpt_every = 1000
  c.figures_every = 0
  c.optimizer.learning_rate = 2e-4
  variants.apply(c, arg, _VARIANTS)
  if c.model.scales and c.data.name == 'digits':
    c.model.scales = (1, 2)  # the 8x8 digits' latent is 2x2, whatever order the variants came in
  return lock(c)


def _smoke(c):
  variants.smoke(c)
  c.model.channels = 16
  c.model.res_hidden = 8
  c.model.num_res_blocks = 1
  c.model.code_dim = 8
  c.model.num_codes = 32
  c.eval.usage_examples = 96
  c.eval.num_reconstructions = 8
  c.eval.num_uniform_samples = 8


def _cpu(c):
  # A quarter of the default width: its 28x28 transposed convolutions dominate the step,
  # and at width 128 a step takes ~1 s on 2 cores (about 4.7 steps/s at this size).
  c.model.channels = 32
  c.model.res_hidden = 16
  c.batch_size = 64
  c.total_epochs = 0.0
  c.total_steps = 8000
  c.eval_every = 2000
  c.ckpt_every = 500
  c.optimizer.learning_rate = 3e-4


def _loss(c):
  c.objective.codebook = 'loss'
  c.objective.dead_code_threshold = 0.0


def _multiscale(c):
  # VAR's tokenizer on the 7x7 latent: L = 1 + 4 + 9 + 16 + 25 + 49 = 104 tokens (on the
  # 8x8 digits of `smoke`, scales 1 and 2; see get_config).
  c.model.scales = (1, 2, 3, 4, 5, 7)
  c.model.code_dim = 32


# get_config's variants by name, applied in the order the arg lists them.
_VARIANTS = {
    'smoke': _smoke,
    'cpu': _cpu,
    'codes14': lambda c: setattr(c.model, 'downsamples', 1),
    'loss': _loss,
    'gaussian': lambda c: setattr(c.model, 'likelihood', 'discretized_gaussian'),
    'mse': lambda c: setattr(c.model, 'likelihood', 'mse'),
    'multiscale': _multiscale,
    'mnist': lambda c: setattr(c.data, 'name', 'mnist'),
}
VARIANTS = tuple(_VARIANTS)
