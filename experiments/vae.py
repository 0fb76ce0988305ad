"""Trains one VAE. Configs and what they reproduce: configs/vae.py."""

from genjax import launch
from genjax.families import vae

if __name__ == '__main__':
  launch.train(vae.FAMILY)
