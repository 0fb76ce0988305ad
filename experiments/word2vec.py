"""Trains word2vec. Configs and variants: configs/word2vec.py."""

from genjax import launch
from genjax.families import word2vec

if __name__ == '__main__':
  launch.train(word2vec.FAMILY)
