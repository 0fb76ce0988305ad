"""A family's names agree: its module, its FamilyDef, the Family its build returns, and the
`family` field of the config written for it; genjax/families/ holds families only."""

import importlib
import os
import pkgutil

import pytest

import genjax.families
from genjax import config as config_lib
from genjax.training import assemble
from genjax.training.family import FamilyDef
from tests.conftest import REPO
from tests.training.toys import common, pca

FAMILY_MODULES = sorted(m.name for m in pkgutil.iter_modules(genjax.families.__path__))


@pytest.mark.parametrize('name', FAMILY_MODULES)
def test_each_module_of_families_defines_its_family_under_its_own_name(name):
  module = importlib.import_module(f'genjax.families.{name}')
  assert isinstance(getattr(module, 'FAMILY', None), FamilyDef), (
      f'genjax/families/{name}.py defines no FAMILY; genjax/families/ holds families only')
  assert module.FAMILY.name == name


@pytest.mark.parametrize('name', FAMILY_MODULES)
def test_the_config_named_after_a_family_is_written_for_it(name):
  if not os.path.exists(os.path.join(REPO, 'configs', f'{name}.py')):
    pytest.skip(f'no configs/{name}.py')
  config = importlib.import_module(f'configs.{name}').get_config()
  assert config.family == name


def test_a_build_that_returns_a_family_of_another_name_is_refused(tmp_path):
  del tmp_path

  def build(config, info):
    family = pca.build(config, info)
    return type(family)(name='another', signature=family.signature,
                        training=family.training, reporting=family.reporting)

  renamed = FamilyDef(name='toy_pca', schema=pca.schema, build=build, data=pca.data)
  with pytest.raises(TypeError, match="returned a Family named 'another'"):
    assemble.assemble(renamed, common.config(renamed, batch_size=200))


def test_a_config_of_another_family_is_refused_before_anything_loads():
  config = common.config(pca.FAMILY)
  config.family = 'toy_gmm'
  with pytest.raises(config_lib.ConfigError, match="'toy_gmm' config"):
    assemble.check_family(config, pca.FAMILY)
