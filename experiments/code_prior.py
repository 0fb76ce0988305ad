"""Trains a prior over a VQ-VAE's codes (stage 2). Configs and variants: configs/code_prior.py.

With --config.data.stage1_workdir empty and --config.data.stage1_config set (the smoke
variant sets it), it first trains that configs/vqvae.py config into <workdir>/stage1
through the same loop (a rerun finds it finished), then the prior over its codes.
"""

from configs import code_prior as code_prior_config
from genjax import launch
from genjax.families import code_prior, vqvae

if __name__ == '__main__':
  launch.train(code_prior.FAMILY, upstream=(vqvae.FAMILY, code_prior_config.stage1_config))
