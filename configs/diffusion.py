"""DDPM (Ho et al., 2020) on Fashion-MNIST: epsilon-prediction, linear schedule, EMA.

    python -m experiments.diffusion --config=configs/diffusion.py --workdir=runs/ddpm

Variants, comma-separated after ':': smoke (seconds, on 8x8 digits, class-conditional),
cpu (a small U-Net that trains in about 45 minutes on 2 CPU cores; see `_cpu`), mnist,
cosine (Nichol & Dhariwal's (2021) schedule), v / x0 (v- or x0-prediction), cond
(class-conditional with label dropout 0.1, for classifier-free guidance), fixedsmall
(reverse variance beta~_t instead of beta_t).
Default: U-Net 64 channels, mults (1, 2, 2) (28 -> 14 -> 7), 2 residual blocks a level,
attention at 7x7 and in the middle, dropout 0.1; T = 1000, beta 1e-4..0.02; Adam 2e-4
after a linear warmup of 5000 steps (Ho et al.'s released CIFAR-10 script; the paper, Sec. 4
and Appendix B, gives T, the schedule, the loss, the U-Net and EMA, not the warmup), batch
128, gradient clipping 1.0, EMA 0.9999, 100k steps. The final test bound sums all T terms
exactly; periodic evaluations use an unbiased 8-timestep estimate.
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
  c.ema_decay = 0.9
  c.optimizer.learning_rate = 1e-3
  c.optimizer.warmup_steps = 4
  c.model.channels = 16
  c.model.channel_mults = (1, 2)
  c.model.num_res_blocks = 1
  c.model.attn_resolutions = (4,)
  c.model.norm_groups = 8
  c.model.dropout = 0.0
  c.model.conditional = True
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
}
VARIANTS = tuple(_VARIANTS)
