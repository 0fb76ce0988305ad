"""Trains one autoregressive model. Configs and variants: configs/autoregressive.py."""

from genjax import launch
from genjax.training.loop import train_and_evaluate

if __name__ == '__main__':
  launch.run(train_and_evaluate)
