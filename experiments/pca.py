"""Fits PCA in one step of the training loop. Configs and what they reproduce: configs/pca.py."""

from genjax import launch
from genjax.families import pca

if __name__ == '__main__':
  launch.train(pca.FAMILY)
