"""The VAE family on colour: its CIFAR-10 variants (tests/experiments/test_paper_variants.py
trains the smoke counterpart)."""

import pytest

from configs import vae as vae_config
from genjax.families import vae
from genjax.training.loop import check_family


@pytest.mark.parametrize('arg', ['cifar10', 'cifar10_smoke'])
def test_the_cifar10_variants_are_conv_gaussian_vaes_of_grey_levels(arg):
  c = vae_config.get_config(arg)
  check_family(c, vae.FAMILY)
  assert c.data.name == 'cifar10' and c.data.binarize == 'none'
  assert c.model.architecture == 'conv' and c.model.likelihood == 'gaussian'
