"""Fits one Gaussian mixture by EM. Configs and what they reproduce: configs/gmm.py."""

from genjax import launch
from genjax.families import gmm

if __name__ == '__main__':
  launch.train(gmm.FAMILY)
