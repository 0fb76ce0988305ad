"""Trains the feature classifier of the offline Fréchet distance. Configs: configs/classifier.py."""

from genjax import launch
from genjax.families import classifier

if __name__ == '__main__':
  launch.train(classifier.FAMILY)
