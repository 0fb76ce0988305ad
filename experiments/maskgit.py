"""Trains MaskGIT over a VQ-VAE's codes (stage 2). Configs and variants: configs/maskgit.py.

With --config.data.stage1_workdir empty and --config.data.stage1_config set (the smoke
variant sets it), it first trains that configs/vqvae.py config into <workdir>/stage1
through the same loop (a rerun finds it finished), then MaskGIT over its codes.
"""

from configs import code_prior as code_prior_config
from genjax import launch
from genjax.families import maskgit, vqvae

if __name__ == '__main__':
  launch.train(maskgit.FAMILY, upstream=(vqvae.FAMILY, code_prior_config.stage1_config))
