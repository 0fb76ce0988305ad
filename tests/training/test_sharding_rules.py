"""Sharding rules: which axis of each train-state leaf the fsdp devices split, and one
line for a layout that cannot be."""

import jax
import numpy as np
import pytest
from jax.sharding import PartitionSpec as P

from genjax.config import ConfigError
from genjax.training import sharding_rules


def _state():
  shapes = {'params': {'dense': {'kernel': (256, 64), 'bias': (64,)},
                       'conv': {'kernel': (3, 3, 16, 96)}},
            'opt_state': {'mu': {'dense': {'kernel': (256, 64)}}},
            'step': ()}
  return jax.tree.map(lambda s: jax.ShapeDtypeStruct(s, np.float32), shapes,
                      is_leaf=lambda x: isinstance(x, tuple))


def _specs(rules, fsdp=4, min_size=0):
  return sharding_rules.leaf_specs(_state(), rules, fsdp, min_size=min_size)


def test_fsdp_splits_each_leafs_largest_axis_that_divides():
  specs = _specs(('.*=fsdp',))
  assert specs['params']['dense']['kernel'] == P('fsdp')
  assert specs['params']['conv']['kernel'] == P(None, None, None, 'fsdp')
  assert specs['params']['dense']['bias'] == P('fsdp')
  assert specs['opt_state']['mu']['dense']['kernel'] == P('fsdp')  # the moment as its param
  assert specs['step'] == P()
  assert _specs(('.*=fsdp',), fsdp=3)['params']['dense']['kernel'] == P()  # none divides
  assert _specs(('.*=fsdp',), min_size=1000)['params']['dense']['bias'] == P()  # too small
  assert _specs(('.*=fsdp',), fsdp=1)['params']['conv']['kernel'] == P()


def test_the_first_rule_that_matches_wins_and_a_spec_may_name_each_axis():
  specs = _specs(('.*bias=replicate', '.*dense/kernel=None,fsdp', '.*=fsdp'))
  assert specs['params']['dense']['bias'] == P()
  assert specs['params']['dense']['kernel'] == P(None, 'fsdp')
  assert specs['opt_state']['mu']['dense']['kernel'] == P(None, 'fsdp')
  assert specs['params']['conv']['kernel'] == P(None, None, None, 'fsdp')


@pytest.mark.parametrize('rules,message', [
    (('.*kernal=fsdp',), "'.*kernal=fsdp' matches no parameter"),
    (('.*dense/kernel',), "is not 'REGEX=SPEC'"),
    (('.*=shard',), "is not 'REGEX=SPEC'"),
    (('[=fsdp',), 'malformed regex'),
    (('.*dense/kernel=fsdp,None', '.*=fsdp'), 'splits axis 0 of [a-z_/]*dense/kernel \\(shape '
     '\\(256, 64\\)\\) over mesh.fsdp=3, which does not divide 256'),
    (('.*conv/kernel=None,fsdp',), 'gives 2 axes to params/conv/kernel, which has shape'),
])
def test_a_layout_that_cannot_be_is_refused_in_one_line(rules, message):
  with pytest.raises(ConfigError, match=message):
    _specs(rules, fsdp=3)


def test_an_fsdp_size_that_does_not_divide_the_devices_is_refused():
  with pytest.raises(ConfigError, match=r'mesh.fsdp=3 does not divide the 8 devices; set '
                     r'--config.mesh.fsdp to one of \[1, 2, 4, 8\]'):
    sharding_rules.check_fsdp(3, 8)
  sharding_rules.check_fsdp(4, 8)
