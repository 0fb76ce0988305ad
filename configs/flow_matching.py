"""Flow matching (Lipman et al., 2023) on Fashion-MNIST: the straight path, DDPM's U-Net.

    python -m experiments.flow_matching --config=configs/flow_matching.py --workdir=runs/fm

Variants, comma-separated after ':': smoke (seconds, on 8x8 digits), cpu (the DDPM cpu
variant's U-Net, batch, steps and optimiser, so the two compare; see `_cpu`), cond
(class-conditional with label dropout 0.1, for classifier-free guidance), logit_normal
(t drawn logit-normal, Esser et al., 2024), cifar10 (Lipman et al.'s CIFAR-10 model and run
by the torchcfm recipe; see `_cifar10`).
One round of reflow (Liu et al., 2023) over a finished run of the same variant:
--config.data.reflow_teacher=<its workdir>, with data.reflow_pairs pairs of its ODE by
data.reflow_solver (configs/paradigms.py:reflow runs one).
Default: sigma_min = 0 (rectified flow, Liu et al., 2023), t uniform; U-Net 64 channels,
mults (1, 2, 2), 2 residual blocks a level, attention at 7x7 and in the middle, dropout
0.1; Adam 2e-4 after 5000 warmup steps, batch 128, gradient clipping 1, EMA 0.9999, 100k
steps: the DDPM config's, step for step. Samples and the likelihood integrate the ODE
with adaptive Dormand-Prince at rtol = atol = 1e-5.

    python -m experiments.flow_matching --config=configs/flow_matching.py:cifar10 --workdir=runs/cfm

should reach Lipman et al.'s (2023, Table 1) CIFAR-10 numbers for FM with the OT path:
2.99 bits/dim (their dequantisation takes K = 50 draws an image; `bpd` in
final_metrics.json takes one, a looser bound), FID 6.35 at 142 NFE with dopri5;
torchcfm's recipe reports FID 3.5 (50,000 samples against the training set's Inception
statistics: `python -m experiments.fid --workdir=runs/cfm --reference=<the training
set's statistics>`).
"""

from configs import variants
from configs.diffusion import CPU_BATCH_SIZE, CPU_FRECHET_SAMPLES, CPU_STEPS
from genjax.config import lock
from genjax.families import flow_matching


def get_config(arg: str | None = None):
  c = flow_matching.schema()
  c.family = 'flow_matching'
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
  c.eval.test_examples = 2000
  variants.apply(c, arg, _VARIANTS)
  return lock(c)


def _smoke(c):
  """Seconds: a tiny one-level U-Net, 4 Euler steps for the samples, loose tolerances for
  the adaptive solves, no likelihood in the evaluation."""
  variants.smoke(c)
  c.ema_decay = 0.9
  c.optimizer.learning_rate = 3e-3  # the loss falls visibly within the 8 steps
  c.optimizer.warmup_steps = 4
  c.model.channels = 16
  c.model.channel_mults = (1,)  # one level (attention in the middle only): half the compile
  c.model.num_res_blocks = 1
  c.model.attn_resolutions = ()
  c.model.norm_groups = 8
  c.model.dropout = 0.0
  c.eval.test_examples = 96
  c.eval.num_samples = 16
  c.eval.solver = 'euler'
  c.eval.steps = 4
  c.eval.rtol = c.eval.atol = 1e-3
  c.eval.likelihood_rtol = c.eval.likelihood_atol = 1e-3
  c.eval.step_grid_samples = 16  # as many as the samples: one compiled Euler solve
  c.eval.class_grid_per_class = 2
  c.eval.final_likelihood = False


def _cpu(c):
  """The DDPM cpu variant's run (configs/diffusion.py `_cpu`): its U-Net (32 channels,
  mults (1, 2, 2), one residual block a level, attention at 7x7, no dropout; 1.1M
  parameters), CPU_STEPS steps of CPU_BATCH_SIZE, Adam 1e-3 after 100 warmup steps, EMA
  0.995, and the Fréchet distance of CPU_FRECHET_SAMPLES samples (needs runs/classifier).
  The same network costs the same a step, so it trains in the same time, under an hour on
  2 cores. Samples and the final likelihood use the adaptive solver at rtol = atol =
  1e-5, as the papers do. The likelihood costs a forward and a backward pass of each
  image at each of its ~100-200 evaluations, so the evaluation reads 200 test images
  (DDPM's cpu variant 500)."""
  c.batch_size = CPU_BATCH_SIZE
  c.total_steps = CPU_STEPS
  c.steps_per_call = 10
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
  c.figures_every = 0  # figures once, at the end
  c.eval.test_examples = 200
  c.eval.num_samples = 36
  c.eval.classifier = 'runs/classifier'
  c.eval.frechet_samples = CPU_FRECHET_SAMPLES


def _cifar10(c):
  """Lipman et al.'s (2023) CIFAR-10 run as the torchcfm recipe trains it: U-Net with 128
  channels, mults (1, 2, 2, 2) (32 -> 16 -> 8 -> 4), 2 residual blocks a level, attention
  at 16x16 and in the middle, dropout 0.1 (DDPM's CIFAR-10 U-Net); sigma_min = 0, t
  uniform; Adam 2e-4 after 5000 warmup steps, gradient clipping 1, batch 128, random
  horizontal flips, EMA 0.9999, 400k steps; samples by dopri5 at rtol = atol = 1e-5. The
  final likelihood on the whole test set; the FID of 50,000 samples is
  `python -m experiments.fid --workdir=<this run>` (off during training:
  eval.frechet_samples=0)."""
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
  c.objective.sigma_min = 0.0
  c.objective.time_sampling = 'uniform'
  c.optimizer.name = 'adam'
  c.optimizer.learning_rate = 2e-4
  c.optimizer.warmup_steps = 5000
  c.optimizer.grad_clip_norm = 1.0
  c.batch_size = 128
  c.ema_decay = 0.9999
  c.total_steps = 400000
  c.log_every = 1000
  c.eval_every = 50000
  c.ckpt_every = 5000
  c.figures_every = 50000
  c.eval.test_examples = 0
  c.eval.solver = 'adaptive'
  c.eval.rtol = c.eval.atol = 1e-5
  c.eval.frechet_samples = 0


# get_config's variants by name, applied in the order the arg lists them.
_VARIANTS = {
    'smoke': _smoke,
    'cpu': _cpu,
    'cond': lambda c: setattr(c.model, 'conditional', True),
    'logit_normal': lambda c: setattr(c.objective, 'time_sampling', 'logit_normal'),
    'cifar10': _cifar10,
}
VARIANTS = tuple(_VARIANTS)
