"""Trains one autoencoder. Configs and what they reproduce: configs/autoencoder.py."""

from genjax import launch
from genjax.families import autoencoder

if __name__ == '__main__':
  launch.train(autoencoder.FAMILY)
