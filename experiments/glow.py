"""Trains Glow, a normalizing flow. Configs and variants: configs/glow.py."""

from genjax import launch
from genjax.families import glow

if __name__ == '__main__':
  launch.train(glow.FAMILY)
