"""DDPM (Ho et al., 2020) on Fashion-MNIST: epsilon-prediction, linear schedule, EMA.

    python -m experiments.diffusion --config=configs/diffusion.py --workdir=runs/ddpm

Variants, comma-separated after ':': smoke (seconds, on 8x8 digits, class-conditional),
cpu (a small U-Net that trains in about 45 minutes on 2 CPU cores; see `_cpu`), mnist,
cosine (Nichol & Dhariwal's (2021) schedule), v / x0 (v- or x0-prediction), cond
(class-conditional with label dropout 0.1, for classifier-free guidance), fixedsmall
(reverse variance beta~_t instead of beta_t), cifar10 (Ho et al.'s CIFAR-10 model and
run; see `_cifar10`), cifar10_smoke (its colour data and U-Net shape in seconds),
church256 (their 256x256 LSUN Church model, 114M parameters; compiled ahead of time, not
trained here).
Default: U-Net 64 channels, mults (1, 2, 2) (28 -> 14 -> 7), 2 residual blocks a level,
attention at 7x7 and in the middle, dropout 0.1; T = 1000, beta 1e-4..0.02; Adam 2e-4
after a linear warmup of 5000 steps (Ho et al.'s released CIFAR-10 script; the paper, Sec. 4
and Appendix B, gives T, the schedule, the loss, the U-Net and EMA, not the warmup), batch
128, gradient clipping 1.0, EMA 0.9999, 100k steps. The final test bound sums all T terms
exactly; periodic evaluations use an unbiased 8-timestep estimate.

    python -m experiments.diffusion --config=configs/diffusion.py:cifar10 --workdir=runs/ddpm32

should reach Ho et al.'s (2020, Table 1) unconditional CIFAR-10 numbers for L_simple:
FID 3.17 (Inception features of 50,000 samples against the training set; 5.24 against
the test set), IS 9.46, and a test bound of at most 3.75 bits/dim (3.72 on the training
set); `bpd` in final_metrics.json is that bound.
"""

from configs import variants
from genjax.config import lock
from genjax.families import diffusion

# The cpu variant's size. Its U-Net's train step at batch 64 took 1.8 CPU-seconds (4.1 at
# batch 128, so smaller batches use the cores better), measured on a loaded 2-core
# machine: 0.9 to 1.8 s a step alone, so 2000 steps are 30 to 60 minutes, about 40.
# Sampling costs about a third of a train step per image and network call: 500 DDIM
# samples of 50 steps take a few minutes, 36 ancestral chains of 1000 steps about five.
CPU_BATCH_SIZE = 64
CPU_STEPS = 2000
CPU_FRECHET_SAMPLES = 500


def get_config(arg: str | None = None):
  c = diffusion.schema()
  c.family = 'diffusion'
  c.data.binarize = 'none'
  c.batch_size = 128
  c.total_steps = 100000
  c.steps_per_call = 10
  c.optimizer.learning_rate = 2e-4
  c.optimizer.grad_clip_norm = 1.0
  c.optimizer.warmup_steps = 5000
  c.ema_decay = 0.9999
  c.log_every = 500
  c.eval_every = 10000
  c.ckpt_every = 5000
  c.figures_every = 10000
  c.eval.test_examples = 2000  # periodic and final bound on 2000 test images
  variants.apply(c, arg, _VARIANTS)
  return lock(c)


def _smoke(c):
  variants.smoke(c)
  _tiny(c)
  c.model.attn_resolutions = (4,)
  c.model.conditional = True


def _tiny(c):
  """A smoke run's U-Net, schedule and evaluation, whatever its data."""
  c.ema_decay = 0.9
  c.optimizer.learning_rate = 1e-3
  c.optimizer.warmup_steps = 4
  c.model.channels = 16
  c.model.channel_mults = (1, 2)
  c.model.num_res_blocks = 1
  c.model.norm_groups = 8
  c.model.dropout = 0.0
  c.objective.timesteps = 20
  c.eval.nll_timesteps = 2
  c.eval.final_nll_timesteps = 0
  c.eval.test_examples = 96
  c.eval.num_samples = 16
  c.eval.ddim_steps = 5
  c.eval.class_grid_per_class = 2
  c.eval.progressive_frames = 4


def _cpu(c):
  """About 45 minutes of training on 2 CPU cores (43 measured; 2000 steps of 64, ~2
  epochs; see CPU_STEPS), then ~12 minutes of final bound, samples and Fréchet distance
  (needs runs/classifier). The U-Net has 1.1M parameters: 32 channels, mults (1, 2, 2), one
  residual block a level, attention at 7x7, no dropout (2 epochs do not overfit). A
  higher rate with a short warmup suits the short run; EMA 0.995 (a ~200-step horizon)
  keeps 0.995^2000 < 1e-4 of the initial weights, where 0.999 would keep 14%."""
  c.batch_size = CPU_BATCH_SIZE
  c.total_steps = CPU_STEPS
  c.steps_per_call = 10
  # One step's body in a loop, its convolutions as matmuls: the train step compiles several
  # times faster than unrolled with XLA's convolutions, and runs at least as fast
  # (docs/results/performance.md).
  c.unroll_steps = 1
  c.model.conv = 'taps'
  c.optimizer.learning_rate = 1e-3
  c.optimizer.warmup_steps = 100
  c.ema_decay = 0.995
  c.model.channels = 32
  c.model.channel_mults = (1, 2, 2)
  c.model.num_res_blocks = 1
  c.model.attn_resolutions = (7,)
  c.model.norm_groups = 8
  c.model.dropout = 0.0
  c.log_every = 100
  c.eval_every = 1000
  c.ckpt_every = 100  # a kill loses at most a few minutes
  c.figures_every = 0  # figures once, at the end: 1000-step ancestral chains are slow here
  c.eval.test_examples = 500
  c.eval.final_nll_timesteps = 32  # an unbiased estimate; all 1000 terms would take hours
  c.eval.num_samples = 36
  c.eval.classifier = 'runs/classifier'
  c.eval.frechet_samples = CPU_FRECHET_SAMPLES


def _cifar10(c):
  """Ho et al.'s (2020) unconditional CIFAR-10 run, from their Sec. 4 and Appendix B and the
  released `scripts/run_cifar.py` (model `unet2d16b2`, 35.7M parameters): U-Net with 128
  channels, multipliers (1, 2, 2, 2) (32 -> 16 -> 8 -> 4), 2 residual blocks a level,
  attention at 16x16 and in the middle, dropout 0.1; T = 1000, linear beta 1e-4..0.02,
  epsilon-prediction with the unweighted MSE (L_simple), ancestral sampling with variance
  beta_t; Adam 2e-4 after 5000 warmup steps, gradient clipping 1, batch 128, random
  horizontal flips, EMA 0.9999, 800k steps.

  Evaluation as in the paper: the final bound on the whole test set sums all 1000 terms
  (eval.final_nll_timesteps=0); --config.eval.train_examples=50000 adds the training-set
  bound. The paper's FID (3.17, Table 1: 50,000 samples against the training set's
  Inception statistics) is `python -m experiments.fid --workdir=<this run>
  --reference=<python -m experiments.fid_stats --dataset=cifar10 --split=train's output>`
  once the Inception weights are converted (genjax.models.inception_weights); it is off
  during training here (eval.frechet_samples=0): 50,000 samples at each figure interval
  would cost more than the training."""
  c.data.name = 'cifar10'
  c.data.channels = 3
  c.data.binarize = 'none'
  c.data.random_flip = True
  c.model.channels = 128
  c.model.channel_mults = (1, 2, 2, 2)
  c.model.num_res_blocks = 2
  c.model.attn_resolutions = (16,)
  c.model.dropout = 0.1
  c.model.norm_groups = 32
  c.model.conditional = False
  c.objective.schedule = 'linear'
  c.objective.timesteps = 1000
  c.objective.beta_start = 1e-4
  c.objective.beta_end = 0.02
  c.objective.prediction = 'eps'
  c.objective.variance = 'fixedlarge'
  c.optimizer.name = 'adam'
  c.optimizer.learning_rate = 2e-4
  c.optimizer.warmup_steps = 5000
  c.optimizer.grad_clip_norm = 1.0
  c.batch_size = 128
  c.ema_decay = 0.9999
  c.total_steps = 800000
  c.log_every = 1000
  c.eval_every = 50000
  c.ckpt_every = 5000
  c.figures_every = 50000
  c.eval.test_examples = 0
  c.eval.nll_timesteps = 8
  c.eval.final_nll_timesteps = 0
  c.eval.frechet_samples = 0


def _church256(c):
  """Ho et al.'s (2020) LSUN Church 256x256 run (Appendix B; FID 7.89, Table 3): six
  resolutions (256 -> 8) with multipliers (1, 1, 2, 2, 4, 4) on 128 channels, 2 residual
  blocks a level and attention at 16x16 (114M parameters), no dropout, batch 64, Adam at
  2e-5 (2e-4 was unstable at this size), EMA 0.9999, 1.2M steps; the rest as cifar10.
  LSUN cannot be read here; this variant is compiled ahead of time (experiments.aot)."""
  _cifar10(c)
  c.data.name = 'lsun/church_outdoor'
  c.data.image_size = 256
  c.model.channel_mults = (1, 1, 2, 2, 4, 4)
  c.model.dropout = 0.0
  c.batch_size = 64
  c.optimizer.learning_rate = 2e-5
  c.total_steps = 1200000


def _cifar10_smoke(c):
  """cifar10's data (32x32x3, flips) and U-Net shape (attention at 16x16, unconditional)
  shrunk to seconds: 16 channels, mults (1, 2) (32 -> 16), 20 timesteps."""
  _cifar10(c)
  variants.smoke(c, dataset=None)
  _tiny(c)
  c.model.attn_resolutions = (16,)
  c.eval.test_examples = 64
  # The final bound from the periodic evaluation's 2 terms, not all 20: the exact bound is
  # tested on the digits, and here it would be a second program to compile at 32x32.
  c.eval.final_nll_timesteps = c.eval.nll_timesteps


# get_config's variants by name, applied in the order the arg lists them.
_VARIANTS = {
    'smoke': _smoke,
    'cpu': _cpu,
    'mnist': lambda c: setattr(c.data, 'name', 'mnist'),
    'cosine': lambda c: setattr(c.objective, 'schedule', 'cosine'),
    'v': lambda c: setattr(c.objective, 'prediction', 'v'),
    'x0': lambda c: setattr(c.objective, 'prediction', 'x0'),
    'cond': lambda c: setattr(c.model, 'conditional', True),
    'fixedsmall': lambda c: setattr(c.objective, 'variance', 'fixedsmall'),
    'cifar10': _cifar10,
    'cifar10_smoke': _cifar10_smoke,
    'church256': _church256,
}
VARIANTS = tuple(_VARIANTS)

# Each paper variant and its smoke counterpart: the same dataset and image structure, in
# seconds.
PAPER_VARIANTS = {'cifar10': 'cifar10_smoke'}
