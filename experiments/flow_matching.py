"""Trains one flow-matching model. Configs and what they reproduce: configs/flow_matching.py."""

from genjax import launch
from genjax.families import flow_matching

if __name__ == '__main__':
  launch.train(flow_matching.FAMILY)
