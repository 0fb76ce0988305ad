"""Trains a character-level language model. Configs and variants: configs/char_lm.py."""

from genjax import launch
from genjax.families import char_lm

if __name__ == '__main__':
  launch.train(char_lm.FAMILY)
