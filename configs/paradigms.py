"""One table of the generation paradigms trained under equal conditions (docs/results/paradigms.md).

    python -m experiments.paradigms --config=configs/paradigms.py --out_dir=results/paradigms

Each row names its run (`workdir`, under `runs_dir`), the family that run must be, the
command that trains it and its `departures` from its paper. The tool refuses rows whose
parameters or training FLOPs lie outside --tolerance of the rows' median, so the runs that
fill it share one data set (Fashion-MNIST), one parameter budget and one training compute.

The budget is small enough for 2 CPU cores: networks of about 280k parameters (each row's
width chosen for it) and 12 TFLOP of training each, a run's steps being 12e12 over its
compiled step's FLOPs (the `compute` row the loop records), rounded to the 10 steps of a
call. The families' `cpu` variants are the starting point; the flags after them resize the
network, set the steps and evaluate once, at the end.

The second stages read the VQ-VAE of `python -m experiments.vqvae
--config=configs/vqvae.py:cpu --workdir=runs/vqvae` (VAR its multi-scale tokenizer,
`--config=configs/vqvae.py:cpu,multiscale --workdir=runs/var_tokenizer`), whose parameters
are not counted: a row's budget is the network it trains. The rows that score their own
samples while training do so in the classifier's features (`python -m experiments.classifier
--config=configs/classifier.py --workdir=runs/classifier --config.total_epochs=6`).
--config.runs_dir moves every workdir (the tool's test points it at smoke runs).

Variant reflow: the pixel flow-matching row beside its one round of reflow (Liu et al.,
2023), the 2-rectified flow trained on pairs of that run's ODE, for the few-step Fréchet
distances reflow buys:

    python -m experiments.paradigms --config=configs/paradigms.py:reflow --steps=1,2,4 \
        --out_dir=results/reflow
"""

import ml_collections

from configs import variants

VARIANTS = ('reflow',)

_PIXEL = ('python -m experiments.{main} --config=configs/{main}.py:cpu{flags} '
          '--config.total_steps={steps} --config.eval_every={steps} '
          '--workdir=runs/paradigms/{name}')
_STAGE2 = ('python -m experiments.{main} --config=configs/{main}.py:{variant}{flags} '
           '--config.data.stage1_workdir=runs/{stage1} --config.total_steps={steps} '
           '--config.eval_every={steps} '
           '--workdir=runs/paradigms/{name}')
# The priors score their samples while training, in the classifier's features.
_SCORED = ' --config.eval.classifier=runs/classifier'
# The probability-flow likelihood at 1e-3, not the variant's 1e-5: its adaptive solve
# takes a forward and a backward pass of every image at each of its evaluations, and at
# 1e-5 the final one of 200 images had not ended after 13 minutes on 2 cores.
_ODE_LIKELIHOOD = (' --config.eval.test_examples=100 --config.eval.likelihood_rtol=1e-3 '
                   '--config.eval.likelihood_atol=1e-3')
# The DDPM row's U-Net at half the cpu variant's width, shared by pixel flow matching.
_UNET16 = ' --config.model.channels=16'


# The 2-rectified flow: the flow-matching row's network and steps, on REFLOW_PAIRS pairs of
# that run's ODE solved by Heun's method on REFLOW_STEPS steps (2 REFLOW_STEPS network
# evaluations a pair; the papers' adaptive solver takes ten times as many on this flow).
# Its own final evaluation leaves out the Fréchet distance and the likelihood, which the
# table measures: of 500 samples by the adaptive solver, the teacher's took 10 minutes.
REFLOW_PAIRS, REFLOW_STEPS = 5000, 16
_REFLOW = (' --config.data.reflow_teacher=runs/paradigms/flow_matching '
           f'--config.data.reflow_pairs={REFLOW_PAIRS} --config.data.reflow_solver=heun '
           f'--config.data.reflow_steps={REFLOW_STEPS} --config.eval.frechet_samples=0 '
           '--config.eval.final_likelihood=False')


def get_config(arg: str | None = None):
  chosen = variants.parse(arg, VARIANTS)
  c = ml_collections.ConfigDict()
  c.runs_dir = 'runs/paradigms'
  c.classifier = 'runs/classifier'  # the feature space of the Fréchet distances
  c.rows = (
      dict(name='pixel DDPM', family='diffusion', workdir='ddpm',
           command=_PIXEL.format(main='diffusion', flags=_UNET16, steps=630, name='ddpm'),
           departures='Ho et al. (2020, Table 1): a 280k-parameter U-Net (16 channels, one '
                      'residual block a level, attention at 7x7, no dropout), batch 64 for '
                      '630 steps, Adam 1e-3, EMA 0.995; 50 DDIM steps (eta = 0), not 1,000 '
                      'ancestral ones'),
      dict(name='pixel flow matching', family='flow_matching', workdir='flow_matching',
           command=_PIXEL.format(main='flow_matching', flags=_UNET16 + _ODE_LIKELIHOOD,
                                 steps=630, name='flow_matching'),
           departures='Lipman et al. (2023, Table 1): the DDPM row\'s U-Net, batch and steps; '
                      'sigma_min = 0 (rectified flow); one dequantisation draw per image; the '
                      'likelihood by the adaptive solver at rtol = atol = 1e-3'),
      dict(name='latent diffusion', family='latent_diffusion', workdir='latent_diffusion',
           command=_STAGE2.format(main='latent_diffusion', variant='cpu',
                                  flags=' --config.model.channels=20 '
                                        '--config.model.norm_groups=4 --config.model.conv=taps',
                                  stage1='vqvae', steps=4290, name='latent_diffusion'),
           departures='Rombach et al. (2022, Table 1): over a small VQ-VAE\'s 7x7 latents, '
                      'a 20-channel U-Net, batch 64 for 4,290 steps; no likelihood over a '
                      'VQ-VAE'),
      dict(name='raster Transformer prior', family='code_prior', workdir='raster_prior',
           command=_STAGE2.format(main='code_prior', variant='cpu,transformer',
                                  flags=' --config.model.dim=64' + _SCORED, stage1='vqvae',
                                  steps=2400, name='raster_prior'),
           departures='van den Oord et al. (2017): a causal Transformer (4 layers, width 64) '
                      'in place of their PixelCNN prior, batch 64 for 2,400 steps'),
      dict(name='VAR', family='var', workdir='var',
           command=_STAGE2.format(main='var', variant='cpu',
                                  flags=' --config.model.dim=56' + _SCORED,
                                  stage1='var_tokenizer', steps=1210, name='var'),
           departures='Tian et al. (2024, Table 1): 4 blocks of width 56 over scales (1, 2, 3, '
                      '4, 5, 7) of a small multi-scale VQ-VAE, batch 64 for 1,210 steps'),
      dict(name='MaskGIT', family='maskgit', workdir='maskgit',
           command=_STAGE2.format(main='maskgit', variant='cpu',
                                  flags=' --config.model.dim=64' + _SCORED,
                                  stage1='vqvae', steps=2390, name='maskgit'),
           departures='Chang et al. (2022, Table 1): 4 blocks of width 64 over 7x7 codes '
                      '(K = 512), batch 64 for 2,390 steps; T = 8 decoding steps'),
      dict(name='Glow', family='glow', workdir='glow',
           command=_PIXEL.format(main='glow', flags=' --config.model.hidden=152 '
                                                    '--config.optimizer.warmup_steps=100',
                                 steps=990, name='glow'),
           departures='Kingma & Dhariwal (2018, Table 2): 2 levels of 4 steps, 152-channel '
                      'couplings with a tanh-bounded scale, 990 steps of 64 after 100 warmup '
                      'steps'),
  )
  if 'reflow' in chosen:
    c.rows = (c.rows[1], dict(
        name='2-rectified flow', family='flow_matching', workdir='reflow',
        command=_PIXEL.format(main='flow_matching', flags=_UNET16 + _ODE_LIKELIHOOD + _REFLOW,
                              steps=630, name='reflow'),
        departures=f'Liu et al. (2023, Table 1): one round of reflow on {REFLOW_PAIRS:,} pairs '
                   f'of the flow-matching row (Heun, {REFLOW_STEPS} steps), starting from its '
                   'weights, for its 630 steps again; the pairs\' sampling is not in the '
                   'training FLOPs'))
  c.lock()
  return c
