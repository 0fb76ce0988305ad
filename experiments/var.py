"""Trains VAR over a multi-scale tokenizer's tokens (stage 2). Configs: configs/var.py."""

from genjax import launch
from genjax.families import var

if __name__ == '__main__':
  launch.train(var.FAMILY)
