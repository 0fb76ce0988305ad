"""Trains a prior over a VQ-VAE's codes (stage 2). Configs and variants: configs/code_prior.py."""

from genjax import launch
from genjax.families import code_prior

if __name__ == '__main__':
  launch.train(code_prior.FAMILY)
