"""Trains one DDPM. Configs and what they reproduce: configs/diffusion.py."""

from genjax import launch
from genjax.families import diffusion

if __name__ == '__main__':
  launch.train(diffusion.FAMILY)
