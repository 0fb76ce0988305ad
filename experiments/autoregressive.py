"""Trains one autoregressive model. Configs and variants: configs/autoregressive.py."""

from genjax import launch
from genjax.families import autoregressive

if __name__ == '__main__':
  launch.train(autoregressive.FAMILY)
