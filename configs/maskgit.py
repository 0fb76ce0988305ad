"""MaskGIT: masked parallel decoding over a trained VQ-VAE's codes (Chang et al., 2022).

    python -m experiments.vqvae --config=configs/vqvae.py:cpu --workdir=runs/vqvae
    python -m experiments.maskgit --config=configs/maskgit.py:cpu \
        --config.data.stage1_workdir=runs/vqvae --config.eval.classifier=runs/classifier \
        --workdir=runs/maskgit

Variants, comma-separated after ':': smoke (seconds, no Fréchet distance; with no
--config.data.stage1_workdir it first trains stage 1's smoke run, configs/vqvae.py:smoke,
into <workdir>/stage1, whose 2x2 code grid MaskGIT decodes in 4 steps), cpu (the
Fashion-MNIST VQ-VAE's 7x7 codes, K = 512, the stage 1 of configs/code_prior.py:cpu:
width 128, batch 64, 6,000 steps, under an hour on 2 cores), uncond (no labels, no
guidance), linear (the linear mask schedule gamma(r) = 1 - r instead of the cosine),
cifar10 (over configs/vqvae.py:cifar10's [8, 80] code grid, the code prior's cifar10
counterpart; not a paper setting: width 256, 8 layers, batch 128, 100 epochs; no Fréchet
distance, whose classifier features here are 28x28 grayscale ones).
Default: a bidirectional Transformer of 4 pre-LayerNorm blocks, width 128, 4 heads, over
the flattened code grid with a [MASK] token and learned positions, class-conditional with
class dropout 0.1 for classifier-free guidance; the cosine mask schedule and label
smoothing 0.1; AdamW (MaskGIT's beta2 0.96 and weight decay 0.045), lr 3e-4, batch 128,
30 epochs; decoding in T = 8 steps with choice temperature 4.5, 1,000 samples scored by
the Fréchet distance beside its floor.

Paper: Chang et al. (2022), Table 1: on ImageNet 256x256 (VQGAN 16x16 codes, K = 1024; a
Transformer of 24 layers, width 768, 16 heads) MaskGIT reaches FID 6.18 and IS 182.1 in
T = 8 steps, from a far larger stage 1 and data than these; their Table 3 finds the cosine
schedule best. No run here reproduces it; the checks of the schedule, the loss and the
decoding are tests/objectives/test_maskgit.py and tests/samplers/test_maskgit.py.
MaskGIT has no tractable likelihood, so no bits/dim: a run reports the NLL and accuracy of
masked test codes given the rest, and the Fréchet distance of its samples.
Stage 1 trained first: --config.data.stage1_config, as configs/code_prior.py describes.
"""

from configs import variants
from genjax.config import lock
from genjax.families import maskgit


def get_config(arg: str | None = None):
  c = maskgit.schema()
  c.family = 'maskgit'
  c.batch_size = 128
  c.total_epochs = 30.0
  c.steps_per_call = 10
  c.log_every = 200
  c.eval_every = 4680
  c.ckpt_every = 1000
  c.figures_every = 0
  c.optimizer.name = 'adamw'
  c.optimizer.learning_rate = 3e-4
  c.optimizer.beta2 = 0.96  # MaskGIT's
  c.optimizer.weight_decay = 0.045  # MaskGIT's
  c.optimizer.grad_clip_norm = 1.0
  variants.apply(c, arg, _VARIANTS)
  return lock(c)


def _smoke(c):
  variants.smoke(c, dataset=None)  # the codes come from the stage-1 run
  c.data.stage1_config = 'smoke'  # trained first when no stage1_workdir is named
  c.model.dim = 16
  c.model.num_heads = 2
  c.model.num_layers = 1
  c.eval.steps = 4  # the smoke stage 1's 2x2 codes: at most 4 steps
  c.eval.num_samples = 20  # = the class grid's 10 x 2: one sampler compiled for both
  c.eval.samples_per_class = 2
  c.eval.frechet_samples = 0


def _cpu(c):
  c.batch_size = 64
  c.total_epochs = 0.0
  c.total_steps = 6000
  c.eval_every = 2000
  c.ckpt_every = 500


def _uncond(c):
  c.model.conditional = False
  c.eval.guidance = 0.0


def _cifar10(c):
  c.data.stage1_config = 'cifar10'
  c.data.name, c.data.channels = 'cifar10', 3  # stage 1's data, which the codes come from
  c.model.dim = 256
  c.model.num_heads = 8
  c.model.num_layers = 8
  c.total_epochs = 100.0
  c.eval_every = 3900  # 10 epochs
  c.optimizer.learning_rate = 2e-4
  c.optimizer.warmup_steps = 2000
  c.eval.frechet_samples = 0


# get_config's variants by name, applied in the order the arg lists them.
_VARIANTS = {
    'smoke': _smoke,
    'cpu': _cpu,
    'uncond': _uncond,
    'linear': lambda c: setattr(c.objective, 'schedule', 'linear'),
    'cifar10': _cifar10,
}
VARIANTS = tuple(_VARIANTS)
