"""Trains a normalizing flow. Configs and variants: configs/flow.py."""

from genjax import launch
from genjax.families import flow

if __name__ == '__main__':
  launch.train(flow.FAMILY)
