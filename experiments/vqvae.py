"""Trains stage 1 of a VQ-VAE. Configs and variants: configs/vqvae.py."""

from genjax import launch
from genjax.families import vqvae

if __name__ == '__main__':
  launch.train(vqvae.FAMILY)
