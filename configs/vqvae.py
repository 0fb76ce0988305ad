"""Stage 1 of a VQ-VAE on 8-bit Fashion-MNIST (van den Oord et al., 2017).

    python -m experiments.vqvae --config=configs/vqvae.py:cpu --workdir=runs/vqvae
    python -m experiments.vqvae --config=configs/vqvae.py:cifar10 --workdir=runs/vqvae_cifar10

Variants, comma-separated after ':': smoke (seconds, on 8x8 digits), cpu (docs/results/vqvae.md's
run: a quarter of the width, batch 64, 8,000 steps), codes14 (14x14 codes: one stride-2
layer), loss (the codebook as a parameter moved by its loss, no restarts), gaussian (the
discretized Gaussian of the DDPM bound instead of the discretized logistic), mse (a
squared-error decoder: no bound), multiscale (VAR's multi-scale residual tokenizer, D = 32
as VAR's Cvae, one code a position; the stage 1 of experiments/var.py: its scales fit the
latent side, (1, 2, 3, 4, 5, 7) on 28x28, (1, 2) on the 8x8 digits, (1, 2, 3, 4, 5, 6, 8)
on 32x32), mnist.
Default: K=512 codes of D=64 on a 7x7 grid, 128 channels and 2 residual blocks, EMA
codebook (decay 0.99) with k-means init and dead-code restart, beta=0.25, Adam 2e-4,
batch 128, 30 epochs.

Paper variants:
- cifar10: van den Oord et al. (2017), section 4.1: two stride-2 4x4 convolutions and two
  residual blocks, 256 wide, to an 8x8x10 latent field (10 codes at each of 8x8 positions,
  a [8, 80] code grid; `genjax.models.vqvae`); the codebook moved by its loss (the EMA of
  their appendix A.1 is not in their main experiments), beta 0.25, Adam 2e-4, batch 128,
  250k steps. K and D are not in the paper: K=512, D=64 as the authors' sonnet notebook.
  Their number: 4.67 bits/dim (a bound; `bound_bits_per_dim_uniform_prior` here, whose
  code term is 640 log2(512) / 3072 = 1.875 bits/dim).
- imagenet256: the shape of VAR's tokenizer (Tian et al., 2024): ImageNet at 256x256, 16x
  downsampling to 16x16, V=4096 codes of Cvae=32, scales (1, 2, 3, 4, 5, 6, 8, 10, 13, 16),
  the stage 1 of configs/var.py:d16. Its network is this VQ-VAE's, not VAR's (a VQGAN
  with perceptual and adversarial losses, whose training code is not released).
Each has a `_smoke` counterpart (cifar10_smoke, imagenet256_smoke): the same dataset and
colour, tiny widths, seconds; imagenet256_smoke's images are 32x32 (256x256 is not
seconds), so its latent is 2x2 at scales (1, 2).
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
  if c.model.scales:  # whatever order the variants came in
    c.model.code_groups = 1  # multi-scale tokens are one code a position
    side = image_side(c.data)
    if side:
      c.model.scales = vqvae.fitted_scales(side, c.model.downsamples)
  return lock(c)


# Image sides of the datasets whose side is fixed; others' is data.image_size.
_IMAGE_SIDES = {'digits': 8, 'mnist': 28, 'fashion_mnist': 28, 'cifar10': 32,
                'imagenet_resized/32x32': 32, 'imagenet_resized/64x64': 64}


def image_side(data) -> int:
  """The side of the images a config's data section asks for; 0 when not known here."""
  return data.image_size or _IMAGE_SIDES.get(data.name, 0)


def _smoke(c, dataset='digits'):
  variants.smoke(c, dataset)
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
  # VAR's tokenizer on the 7x7 latent: L = 1 + 4 + 9 + 16 + 25 + 49 = 104 tokens (get_config
  # fits the scales to other latent sides).
  c.model.scales = (1, 2, 3, 4, 5, 7)
  c.model.code_dim = 32


def _cifar10(c):
  c.data.name = 'cifar10'
  c.data.channels = 3
  c.model.channels = 256
  c.model.res_hidden = 256  # "all having 256 hidden units"
  c.model.code_groups = 10
  _loss(c)
  c.total_epochs = 0.0
  c.total_steps = 250000
  c.log_every = 500
  c.eval_every = 10000
  c.ckpt_every = 5000


def _imagenet256(c):
  c.data.name = 'imagenet2012'
  c.data.image_size = 256
  c.data.channels = 3
  c.model.downsamples = 4
  c.model.code_dim = 32
  c.model.num_codes = 4096
  c.model.scales = (1, 2, 3, 4, 5, 6, 8, 10, 13, 16)


def _smoke_of(paper, image_size=0):
  def smoke(c):
    paper(c)
    _smoke(c, dataset=None)  # the paper's dataset and colour
    if image_size:
      c.data.image_size = image_size
  return smoke


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
    'cifar10': _cifar10,
    'cifar10_smoke': _smoke_of(_cifar10),
    'imagenet256': _imagenet256,
    'imagenet256_smoke': _smoke_of(_imagenet256, image_size=32),
}
VARIANTS = tuple(_VARIANTS)

# Each paper variant and its smoke counterpart: the same dataset and image structure, in
# seconds.
PAPER_VARIANTS = {'cifar10': 'cifar10_smoke', 'imagenet256': 'imagenet256_smoke'}
