"""Trains a GAN. Configs and variants: configs/gan.py."""

from genjax import launch
from genjax.families import gan

if __name__ == '__main__':
  launch.train(gan.FAMILY)
