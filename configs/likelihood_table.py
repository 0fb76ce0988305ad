"""The cross-family likelihood tables (docs/results/likelihood.md).

    python -m experiments.likelihood_table --config=configs/likelihood_table.py \
        --out_dir=results/likelihood

Each row names the command that trains its run and where the run is: `workdir` (under
`runs_dir`), `record` (a committed run record: config.json, metrics.jsonl and its final
metrics, without checkpoints) or `summary` + `key` (an earlier table's committed summary),
the last two for runs that are not on this machine. No variants. --config.runs_dir moves
every workdir (the tool's test points it at smoke runs).
"""

import ml_collections

from configs import paradigms, variants

VARIANTS = ()

_AR_SUMMARY = 'results/autoregressive/summary.json'
_AR = ('python -m experiments.autoregressive --config=configs/autoregressive.py:{},cpu '
       '--workdir=runs/ar/{}')
_VAE = 'python -m experiments.vae --config=configs/vae.py:burda,cpu{} --workdir=runs/{}'
_DDPM_PARADIGMS = 'results/likelihood/records/ddpm_paradigms'
_DDPM_PARADIGMS_TRAIN = next(r['command'] for r in paradigms.get_config().rows
                             if r['workdir'] == 'ddpm')


def get_config(arg: str | None = None):
  variants.parse(arg, VARIANTS)
  c = ml_collections.ConfigDict()
  c.runs_dir = 'runs'
  c.eight_bit = (
      dict(name='Glow-style flow', workdir='glow',
           command='python -m experiments.glow --config=configs/glow.py:cpu '
                   '--workdir=runs/glow'),
      dict(name='PixelCNN, 256-way softmax', workdir='pixelcnn_gray8',
           command='python -m experiments.autoregressive '
                   '--config=configs/autoregressive.py:pixelcnn,gray8,cpu '
                   '--workdir=runs/pixelcnn_gray8'),
      dict(name='DDPM (cpu U-Net)', record='results/diffusion/cpu',
           command='python -m experiments.diffusion --config=configs/diffusion.py:cpu '
                   '--workdir=runs/ddpm_cpu, then python -m experiments.diffusion_bound '
                   '--workdir=runs/ddpm_cpu --timesteps=32 --num_examples=500'),
      # The paradigms table's DDPM (a 280k-parameter U-Net): its bound and its
      # probability-flow likelihood on the same first 50 test images.
      dict(name='DDPM (paradigms U-Net)', record=_DDPM_PARADIGMS,
           command=f'{_DDPM_PARADIGMS_TRAIN}, then python -m experiments.diffusion_bound '
                   '--workdir=runs/paradigms/ddpm --timesteps=32 --num_examples=50 '
                   f'--out={_DDPM_PARADIGMS}/bound_32.json'),
      dict(name='DDPM (paradigms U-Net), probability-flow ODE', record=_DDPM_PARADIGMS,
           ode='ode_likelihood.json',
           command=f'{_DDPM_PARADIGMS_TRAIN}, then python -m experiments.ode_likelihood '
                   '--workdir=runs/paradigms/ddpm --examples=50 --rtol=1e-3 --atol=1e-3 '
                   f'--out={_DDPM_PARADIGMS}/ode_likelihood.json'),
      dict(name='VQ-VAE + Gated PixelCNN prior (prior params)', workdir='code_prior',
           command='python -m experiments.vqvae --config=configs/vqvae.py:cpu '
                   '--workdir=runs/vqvae, then python -m experiments.code_prior '
                   '--config=configs/code_prior.py:cpu --config.data.stage1_workdir=runs/vqvae '
                   '--config.eval.classifier=runs/classifier --workdir=runs/code_prior'),
      dict(name='Gaussian mixture, 10 full components', workdir='gmm_pixels8',
           command='python -m experiments.gmm --config=configs/gmm.py:pixels8 '
                   '--workdir=runs/gmm_pixels8'),
  )
  c.binarized = (
      dict(name='VAE (ELBO)', workdir='vae_elbo', command=_VAE.format('', 'vae_elbo')),
      dict(name='IWAE, k = 5', workdir='iwae5', command=_VAE.format(',iwae5', 'iwae5')),
      dict(name='IWAE, k = 50', workdir='iwae50', command=_VAE.format(',iwae50', 'iwae50')),
      dict(name='PixelCNN', summary=_AR_SUMMARY, key='PixelCNN',
           command=_AR.format('pixelcnn', 'pixelcnn')),
      dict(name='Gated PixelCNN', summary=_AR_SUMMARY, key='Gated PixelCNN',
           command=_AR.format('gated', 'gated')),
      dict(name='Transformer', summary=_AR_SUMMARY, key='Transformer',
           command=_AR.format('transformer', 'transformer')),
      dict(name='LSTM', summary=_AR_SUMMARY, key='LSTM', command=_AR.format('lstm', 'lstm')),
  )
  c.lock()
  return c
