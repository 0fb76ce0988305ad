"""The glow family's refusals: what it cannot model ends in one line naming the fix."""

import pytest

from configs import glow as glow_config
from genjax.config import ConfigError
from genjax.families import glow
from genjax.data.family_data import DataInfo
from tests.families.run_config import unlocked


def test_more_levels_than_the_sides_halve_names_the_fix():
  config = unlocked(glow_config, 'smoke', model=dict(levels=4))
  with pytest.raises(ConfigError, match='--config.model.levels') as raised:
    glow.build(config, DataInfo(num_train=1, example_shape=(8, 8, 1)))
  assert '\n' not in str(raised.value)


def test_binarised_data_is_refused():
  config = unlocked(glow_config, 'smoke', data=dict(binarize='dynamic'))
  with pytest.raises(ConfigError, match='--config.data.binarize=none'):
    glow.check_config(config)
