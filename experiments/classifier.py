"""Trains the feature classifier of the offline Fréchet distance. Configs: configs/classifier.py."""

from genjax import launch
from genjax.training.loop import train_and_evaluate

if __name__ == '__main__':
  launch.run(train_and_evaluate)
