"""Trains one DDPM. Configs and what they reproduce: configs/diffusion.py."""

from genjax import launch
from genjax.training.loop import train_and_evaluate

if __name__ == '__main__':
  launch.run(train_and_evaluate)
