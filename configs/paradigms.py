"""One table of the generation paradigms trained under equal conditions (docs/results/paradigms.md).

    python -m experiments.paradigms --config=configs/paradigms.py --out_dir=results/paradigms

Each row names its run (`workdir`, under `runs_dir`), the family that run must be, the
command that trains it and its `departures` from its paper. The tool refuses rows whose
parameters or training FLOPs lie outside --tolerance of the rows' median, so the runs that
fill it share one data set (Fashion-MNIST), one parameter budget and one training compute;
the `cpu` variants named here are the starting point, not yet matched to one budget.
The second stages read the VQ-VAE of `python -m experiments.vqvae
--config=configs/vqvae.py:cpu --workdir=runs/vqvae` (VAR its multi-scale tokenizer,
`--config=configs/vqvae.py:cpu,multiscale --workdir=runs/var_tokenizer`), whose parameters
are not counted: a row's budget is the network it trains. No variants. --config.runs_dir
moves every workdir (the tool's test points it at smoke runs).
"""

import ml_collections

from configs import variants

VARIANTS = ()

_STAGE2 = ('python -m experiments.{main} --config=configs/{main}.py:{variant} '
           '--config.data.stage1_workdir=runs/{stage1}{scored} --workdir=runs/paradigms/{name}')
# The priors score their samples while training, in the classifier's features.
_SCORED = ' --config.eval.classifier=runs/classifier'


def get_config(arg: str | None = None):
  variants.parse(arg, VARIANTS)
  c = ml_collections.ConfigDict()
  c.runs_dir = 'runs/paradigms'
  c.classifier = 'runs/classifier'  # the feature space of the Fréchet distances
  c.rows = (
      dict(name='pixel DDPM', family='diffusion', workdir='ddpm',
           command='python -m experiments.diffusion --config=configs/diffusion.py:cpu '
                   '--workdir=runs/paradigms/ddpm',
           departures='Ho et al. (2020, Table 1): a 1.1M-parameter U-Net (32 channels, one '
                      'residual block a level, no dropout), batch 64 for 2,000 steps, Adam '
                      '1e-3, EMA 0.995; 50 DDIM steps (eta = 0), not 1,000 ancestral ones'),
      dict(name='pixel flow matching', family='flow_matching', workdir='flow_matching',
           command='python -m experiments.flow_matching --config=configs/flow_matching.py:cpu '
                   '--workdir=runs/paradigms/flow_matching',
           departures='Lipman et al. (2023, Table 1): the DDPM row\'s U-Net, batch and steps; '
                      'sigma_min = 0 (rectified flow); one dequantisation draw per image'),
      dict(name='latent diffusion', family='latent_diffusion', workdir='latent_diffusion',
           command=_STAGE2.format(main='latent_diffusion', variant='cpu', stage1='vqvae',
                                  scored='', name='latent_diffusion'),
           departures='Rombach et al. (2022, Table 1): over a small VQ-VAE\'s 7x7 latents, '
                      'a 32-channel U-Net, batch 64 for 3,000 steps; no likelihood over a '
                      'VQ-VAE'),
      dict(name='raster Transformer prior', family='code_prior', workdir='raster_prior',
           command=_STAGE2.format(main='code_prior', variant='cpu,transformer',
                                  stage1='vqvae', scored=_SCORED, name='raster_prior'),
           departures='van den Oord et al. (2017): a causal Transformer (4 layers, width 128) '
                      'in place of their PixelCNN prior, batch 64 for 8,000 steps'),
      dict(name='VAR', family='var', workdir='var',
           command=_STAGE2.format(main='var', variant='cpu', stage1='var_tokenizer',
                                  scored=_SCORED, name='var'),
           departures='Tian et al. (2024, Table 1): 4 blocks of width 64 over scales (1, 2, 3, '
                      '4, 5, 7) of a small multi-scale VQ-VAE, batch 64 for 5,000 steps'),
      dict(name='MaskGIT', family='maskgit', workdir='maskgit',
           command=_STAGE2.format(main='maskgit', variant='cpu', stage1='vqvae',
                                  scored=_SCORED, name='maskgit'),
           departures='Chang et al. (2022, Table 1): 4 blocks of width 128 over 7x7 codes '
                      '(K = 512), batch 64 for 6,000 steps; T = 8 decoding steps'),
      dict(name='Glow', family='glow', workdir='glow',
           command='python -m experiments.glow --config=configs/glow.py:cpu '
                   '--workdir=runs/paradigms/glow',
           departures='Kingma & Dhariwal (2018, Table 2): 2 levels of 4 steps, 64-channel '
                      'couplings with a tanh-bounded scale, 20,000 steps of 64'),
  )
  c.lock()
  return c
