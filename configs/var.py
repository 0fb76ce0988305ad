"""VAR: a next-scale prior over a multi-scale tokenizer's tokens (Tian et al., 2024).

    python -m experiments.vqvae --config=configs/vqvae.py:cpu,multiscale \
        --workdir=runs/var_tokenizer
    python -m experiments.var --config=configs/var.py:cpu \
        --config.data.stage1_workdir=runs/var_tokenizer \
        --config.eval.classifier=runs/classifier --workdir=runs/var

Variants, comma-separated after ':': smoke (seconds, no Fréchet distance; with no
--config.data.stage1_workdir it first trains a multi-scale stage 1's smoke run,
configs/vqvae.py:smoke,multiscale at scales (1, 2), into <workdir>/stage1), cpu
(docs/results/var.md's run: width 64, batch 64, 5,000 steps), uncond (no labels, no
guidance), naive (figures from the full pass per scale).
Default: 4 of VAR's AdaLN blocks of width 128 and 4 heads over the tokens of scales
(1, 2, 3, 4, 5, 7), class-conditional with VAR's class dropout 0.1, AdamW (beta2 0.95 as
VAR, weight decay 0.05), batch 128, 30 epochs; 1,000 samples at each guidance scale scored
by the Fréchet distance beside its floor.

Paper variants:
- d16: Tian et al. (2024), VAR-d16, their smallest ImageNet 256x256 model: depth 16, width
  1024 (64 depth), 16 heads, AdaLN on the class, 310M parameters (310,283,520 here, the
  official `build_vae_var(depth=16)` parameter for parameter), over the 680 tokens of a
  16x-downsampling tokenizer (V=4096, Cvae=32, scales 1, 2, 3, 4, 5, 6, 8, 10, 13, 16:
  configs/vqvae.py:imagenet256, trained first as stage 1); batch 768, 200 epochs, AdamW lr
  1e-4 x 768 / 256, weight decay 0.05, betas (0.9, 0.95), gradient clip 2, stochastic depth
  0.1 x 16 / 24, class dropout 0.1. Sampling for their FID: guidance ramped over the scales
  to cfg 1.5 (w = 2.5 here), top-k 900, top-p 0.96. Their number: FID 3.30 (3.55 in the
  first arXiv version), measured with the ADM evaluator on 50,000 samples; none here (the
  Fréchet distance here is in a 28x28 grayscale classifier's features).
- cifar10: VAR at 32x32 on CIFAR-10 (not a paper setting): depth 8 by VAR's rule (width
  512, 8 heads), over configs/vqvae.py:cifar10,multiscale's tokens at scales
  (1, 2, 3, 4, 5, 6, 8) of its 8x8 latent; batch 128, 200 epochs, lr 1e-4 x 128 / 256.
Each has a `_smoke` counterpart (d16_smoke, cifar10_smoke): the same dataset and colour,
tiny widths, seconds; d16_smoke's images are 32x32, not 256x256 (not seconds), so its
tokenizer's latent is 2x2 at scales (1, 2).
Stage 1 trained first: --config.data.stage1_config, as configs/code_prior.py describes.
"""

from configs import variants
from genjax.config import lock
from genjax.families import var


def get_config(arg: str | None = None):
  c = var.schema()
  c.family = 'var'
  c.batch_size = 128
  c.total_epochs = 30.0
  c.steps_per_call = 10
  c.log_every = 200
  c.eval_every = 4680
  c.ckpt_every = 1000
  c.figures_every = 0
  c.optimizer.name = 'adamw'
  c.optimizer.learning_rate = 3e-4
  c.optimizer.beta2 = 0.95
  c.optimizer.weight_decay = 0.05
  c.optimizer.grad_clip_norm = 2.0  # VAR's
  variants.apply(c, arg, _VARIANTS)
  return lock(c)


def _smoke(c):
  variants.smoke(c, dataset=None)  # the tokens come from the stage-1 run
  # Trained first when no stage1_workdir is named: the 8x8 digits' 2x2 latent, scales (1, 2).
  c.data.stage1_config = 'smoke,multiscale'
  c.model.dim = 16
  c.model.num_heads = 2
  c.model.num_layers = 1
  c.eval.num_samples = 20  # = the class grid's 10 x 2: one sampler compiled per guidance
  c.eval.samples_per_class = 2
  c.eval.guidance_scales = (1.0, 2.0)
  c.eval.frechet_samples = 0


def _cpu(c):
  # Width 64: a step at width 128 costs four times the matmul FLOPs, too slow for the
  # 2-core run docs/results/var.md describes.
  c.model.dim = 64
  c.batch_size = 64
  c.total_epochs = 0.0
  c.total_steps = 5000
  c.eval_every = 2500
  c.ckpt_every = 500


def _uncond(c):
  c.model.conditional = False
  c.eval.guidance_scales = (1.0,)


def _var_depth(c, depth, batch_size, epochs):
  """VAR's shape rule: width 64 depth, depth heads, stochastic depth 0.1 depth / 24; its
  learning rate 1e-4 per 256 images of batch."""
  c.model.num_layers = depth
  c.model.dim = 64 * depth
  c.model.num_heads = depth
  c.model.drop_path = 0.1 * depth / 24
  c.batch_size = batch_size
  c.total_epochs = float(epochs)
  c.optimizer.learning_rate = 1e-4 * batch_size / 256


def _d16(c):
  _var_depth(c, 16, batch_size=768, epochs=200)
  c.data.stage1_config = 'imagenet256'
  # Stage 1's data, which the tokens come from (ImageNet needs a manual download; the
  # data layer's error says how).
  c.data.name, c.data.image_size, c.data.channels = 'imagenet2012', 256, 3
  c.log_every = 100
  c.eval_every = 16680  # 10 epochs of 1,281,167 images
  c.ckpt_every = 1000
  c.eval.test_examples = 10000
  c.eval.samples_per_class = 8  # of 10 classes spread over the 1,000 (eval.grid_classes)
  c.eval.guidance_scales = (1.0, 2.5)
  c.eval.guidance_ramp = True
  c.eval.top_k = 900
  c.eval.top_p = 0.96
  c.eval.frechet_samples = 0
  c.eval.classifier = ''


def _cifar10(c):
  _var_depth(c, 8, batch_size=128, epochs=200)
  c.data.stage1_config = 'cifar10,multiscale'
  c.data.name, c.data.channels = 'cifar10', 3  # stage 1's data, which the tokens come from
  c.eval_every = 3900  # 10 epochs
  c.eval.frechet_samples = 0


def _smoke_of(paper, stage1_config):
  def smoke(c):
    paper(c)
    _smoke(c)
    c.data.stage1_config = stage1_config
    c.model.num_layers = 2  # two, so that stochastic depth has a block with a rate
    c.model.drop_path = 0.1
    c.eval.test_examples = 96
    if paper is _d16:
      c.data.image_size = 32  # as configs/vqvae.py:imagenet256_smoke; 256 is not seconds
      c.eval.samples_per_class = 1  # of 10 of the 1,000 classes
      c.eval.guidance_scales = (1.0, 2.5)
  return smoke


# get_config's variants by name, applied in the order the arg lists them.
_VARIANTS = {
    'smoke': _smoke,
    'cpu': _cpu,
    'uncond': _uncond,
    'naive': lambda c: setattr(c.eval, 'sampler', 'naive'),
    'd16': _d16,
    'd16_smoke': _smoke_of(_d16, 'imagenet256_smoke'),
    'cifar10': _cifar10,
    'cifar10_smoke': _smoke_of(_cifar10, 'cifar10_smoke,multiscale'),
}
VARIANTS = tuple(_VARIANTS)

# Each paper variant and its smoke counterpart: the same dataset and image structure, in
# seconds.
PAPER_VARIANTS = {'d16': 'd16_smoke', 'cifar10': 'cifar10_smoke'}
