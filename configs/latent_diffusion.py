"""Latent diffusion (Rombach et al., 2022) over a frozen VQ-VAE or VAE on Fashion-MNIST.

    python -m experiments.latent_diffusion --config=configs/latent_diffusion.py:cpu \
        --config.data.stage1_workdir=runs/vqvae --workdir=runs/latent_diffusion
    python -m experiments.latent_diffusion --config=configs/latent_diffusion.py:cpu,vae \
        --config.data.stage1_workdir=runs/vae --workdir=runs/latent_diffusion_vae

Variants, comma-separated after ':': smoke (seconds; with no --config.data.stage1_workdir
it first trains the stage 1's smoke run, configs/vqvae.py:smoke or configs/vae.py:smoke,
into <workdir>/stage1), cpu (over the Fashion-MNIST VQ-VAE's or VAE's cpu run, named by
--config.data.stage1_workdir or trained first: under an hour of training on 2 CPU cores;
see `_cpu`), vqvae (the default: the U-Net over the VQ-VAE's pre-quantisation latents),
vae (the MLP denoiser over the VAE's posterior samples, with the bound on -log p(x) in
bits/dim), cond (class-conditional, label dropout 0.1, classifier-free guidance).
Default: Rombach et al.'s diffusion settings: epsilon prediction, T = 1000, sqrt(beta)
linear from sqrt(0.0015) to sqrt(0.0195), the scale factor 1/std of the first batch's
latents (scale_by_std; --config.objective.scale_factor=<s> fixes it, 0.18215 in their
text-to-image config); U-Net 64 channels, mults (1, 2), 2 residual blocks a level;
Adam 1e-4, batch 128, EMA 0.9999. Rombach et al. (2022, Table 1 and sec. 4) report FID on
256x256 datasets (CelebA-HQ LDM-VQ-4 5.11); no published number exists for these small
first stages, so the numbers to check are the bound of the `vae` variant against the VAE's
own ELBO (`bpd` beside `vae_elbo_bpd` in final_metrics.json) and the samples.

Stage 1 trained first: with --config.data.stage1_workdir empty and
--config.data.stage1_config set (smoke sets 'smoke', cpu 'cpu'), the main trains that
configs/<data.stage1_family>.py config into <workdir>/stage1 through the same loop (a rerun
finds it finished), then the diffusion model over its latents.
"""

from configs import variants
from genjax.config import ConfigError, lock
from genjax.families import latent_diffusion


# The cpu variant's length, sized from its step over the VQ-VAE (the U-Net's update and the
# frozen encoder's forward pass at batch 64) to train in under an hour on 2 cores; not yet
# run to the end. The VAE's MLP step is several times cheaper.
CPU_STEPS = 3000


def get_config(arg: str | None = None):
  c = latent_diffusion.schema()
  c.family = 'latent_diffusion'
  c.batch_size = 128
  c.total_steps = 100000
  c.steps_per_call = 10
  c.log_every = 500
  c.eval_every = 10000
  c.ckpt_every = 5000
  c.figures_every = 10000
  c.optimizer.learning_rate = 1e-4
  c.optimizer.grad_clip_norm = 1.0
  c.ema_decay = 0.9999
  c.eval.test_examples = 2000
  variants.apply(c, arg, _VARIANTS)
  return lock(c)


def stage1_config(family: str, spec: str):
  """The configs/<family>.py config ('vqvae' or 'vae') that `data.stage1_config` names by
  its variants; an unknown variant is refused in one line naming the field."""
  # pylint: disable=g-import-not-at-top
  from configs import vae as vae_config
  from configs import vqvae as vqvae_config
  module = {'vae': vae_config, 'vqvae': vqvae_config}[family]
  try:
    return module.get_config(spec)
  except ConfigError as e:
    raise ConfigError(f'data.stage1_config={spec!r} (configs/{family}.py): {e}') from None


def _smoke(c):
  variants.smoke(c, dataset=None)  # the images are the stage-1 run's
  c.data.stage1_config = 'smoke'  # trained first when no stage1_workdir is named
  c.unroll_steps = 1  # one step's body compiled, not two
  c.ema_decay = 0.9
  c.optimizer.learning_rate = 2e-3
  c.model.channels = 16
  c.model.channel_mults = (1,)  # the smoke VQ-VAE's 2x2 grid: no downsampling
  c.model.num_res_blocks = 1
  c.model.attn_resolutions = ()
  c.model.norm_groups = 8
  c.model.mlp_hidden = 32
  c.model.mlp_blocks = 1
  c.objective.timesteps = 20
  c.eval.nll_timesteps = 2
  c.eval.final_nll_timesteps = 2
  c.eval.test_examples = 96
  c.eval.num_samples = 8
  c.eval.ddim_steps = 4
  c.eval.class_grid_per_class = 2


def _cpu(c):
  """Over the cpu run of configs/vqvae.py (7x7x64 latents) or configs/vae.py (20-d): a
  32-channel U-Net with mults (1, 2) (7 -> 4), one residual block a level, attention at 4x4,
  or a 256-wide MLP of 3 blocks; 3,000 steps of 64 (CPU_STEPS), EMA 0.999, the final bound
  (vae) from 32 terms on 2,000 test images."""
  c.data.stage1_config = 'cpu'
  c.batch_size = 64
  c.total_steps = CPU_STEPS
  c.unroll_steps = 1
  c.optimizer.learning_rate = 5e-4
  c.optimizer.warmup_steps = 200
  c.ema_decay = 0.999
  c.model.channels = 32
  c.model.channel_mults = (1, 2)
  c.model.num_res_blocks = 1
  c.model.attn_resolutions = (4,)
  c.model.norm_groups = 8
  c.log_every = 200
  c.eval_every = 2000
  c.ckpt_every = 500
  c.figures_every = 0
  c.eval.test_examples = 2000
  c.eval.num_samples = 64


# get_config's variants by name, applied in the order the arg lists them.
_VARIANTS = {
    'smoke': _smoke,
    'cpu': _cpu,
    'vqvae': lambda c: setattr(c.data, 'stage1_family', 'vqvae'),
    'vae': lambda c: setattr(c.data, 'stage1_family', 'vae'),
    'cond': lambda c: setattr(c.model, 'conditional', True),
}
VARIANTS = tuple(_VARIANTS)
