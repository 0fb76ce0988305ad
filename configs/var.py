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
Default: 4 blocks of width 128 and 4 heads over the tokens of scales (1, 2, 3, 4, 5, 7),
class-conditional with VAR's class dropout 0.1, AdamW (beta2 0.95 as VAR, weight decay
0.05), batch 128, 30 epochs; 1,000 samples at each guidance scale scored by the Fréchet
distance beside its floor. VAR's d16 is 16 blocks of width 1024 over 680 tokens of
ImageNet 256.
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
  # Width 64: at width 128 a step over 104 tokens is ~36 GFLOP and ran at ~1.4 steps/s
  # beside another run on the 2 cores; width 64 runs ~4 steps/s alone.
  c.model.dim = 64
  c.batch_size = 64
  c.total_epochs = 0.0
  c.total_steps = 5000
  c.eval_every = 2500
  c.ckpt_every = 500


def _uncond(c):
  c.model.conditional = False
  c.eval.guidance_scales = (1.0,)


# get_config's variants by name, applied in the order the arg lists them.
_VARIANTS = {
    'smoke': _smoke,
    'cpu': _cpu,
    'uncond': _uncond,
    'naive': lambda c: setattr(c.eval, 'sampler', 'naive'),
}
VARIANTS = tuple(_VARIANTS)
