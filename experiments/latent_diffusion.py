"""Trains latent diffusion over a frozen VQ-VAE or VAE. Configs and variants:
configs/latent_diffusion.py.

With --config.data.stage1_workdir empty and --config.data.stage1_config set (the smoke and
cpu variants set it), it first trains that configs/<data.stage1_family>.py config into
<workdir>/stage1 through the same loop (a rerun finds it finished), then the diffusion
model over its latents.
"""

import functools

from configs import latent_diffusion as latent_diffusion_config
from genjax import launch
from genjax.families import latent_diffusion, vae, vqvae

_STAGE1 = {'vqvae': vqvae.FAMILY, 'vae': vae.FAMILY}


def experiment(config, workdir):
  """The main's experiment: the first stage it trains first is the family the config names
  (an unknown one is left to the config's own one-line refusal)."""
  family = config.get('data', {}).get('stage1_family', 'vqvae')
  family = family if family in _STAGE1 else 'vqvae'
  upstream = (_STAGE1[family], functools.partial(latent_diffusion_config.stage1_config, family))
  return launch.experiment(latent_diffusion.FAMILY, upstream=upstream)(config, workdir)


if __name__ == '__main__':
  launch.run(experiment)
