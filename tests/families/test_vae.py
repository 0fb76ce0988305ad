"""The VAE family on colour: its CIFAR-10 variants and the colour smoke run."""

import os

import numpy as np
import pytest

from configs import vae as vae_config
from genjax.families import vae
from genjax.training.loop import check_family, train_and_evaluate
from tests.families import colour_runs


@pytest.mark.parametrize('arg', ['cifar10', 'cifar10_smoke'])
def test_the_cifar10_variants_are_conv_gaussian_vaes_of_grey_levels(arg):
  c = vae_config.get_config(arg)
  check_family(c, vae.FAMILY)
  assert c.data.name == 'cifar10' and c.data.binarize == 'none'
  assert c.model.architecture == 'conv' and c.model.likelihood == 'gaussian'


@pytest.mark.slow
def test_the_cifar10_smoke_run_trains_samples_and_draws_in_colour(tmp_path, monkeypatch):
  colour_runs.use_random_cifar10(monkeypatch)
  config = vae_config.get_config('cifar10_smoke')
  final = train_and_evaluate(vae.FAMILY, config, str(tmp_path))
  assert np.isfinite(final['elbo']) and np.isfinite(final[f'iwae_{config.eval.final_iwae_k}'])
  a = colour_runs.last_artifacts(str(tmp_path))
  assert a['samples'].shape == (config.eval.num_samples, 32, 32, 3)
  assert a['recon_means'].shape == a['recon_inputs'].shape == (16, 32, 32, 3)
  for name in ('samples', 'reconstructions', 'interpolation'):
    assert colour_runs.is_colour_png(os.path.join(tmp_path, 'figures', f'{name}.png')), name
  samples = colour_runs.samples_of_saved_run(vae.FAMILY, str(tmp_path), 3)
  assert samples.shape == (3, 32, 32, 3) and np.all((samples >= 0) & (samples <= 1))
