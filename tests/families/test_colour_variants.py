"""The VQ-VAE's 8x8x10 CIFAR-10 codes and the code prior over them, in process, on random
colour images: ten codes a position, colour reconstructions and samples, and a second stage
that refuses a stage 1 of other images. (Every colour smoke counterpart also trains end to
end in tests/experiments/test_paper_variants.py.)"""

import os

import matplotlib.image
import numpy as np
import pytest

import genjax

from configs import code_prior as code_prior_config
from configs import var as var_config
from configs import vqvae as vqvae_config
from genjax.errors import UserError
from genjax.families import code_prior, var, vqvae
from genjax.training import restore
from genjax.training.loop import train_and_evaluate
from tests.families.colour_runs import (is_colour_png, last_artifacts, last_metrics,
                                        samples_of_saved_run, use_random_cifar10)
from tests.smoke_runs import trained_in_process

pytestmark = pytest.mark.slow  # each test trains runs end to end


def _train(family_def, config, workdir):
  """Trains the config into workdir; its last test evaluation must be finite."""
  train_and_evaluate(family_def, config, str(workdir))
  test = last_metrics(str(workdir), 'test')
  assert all(np.isfinite(v) for k, v in test.items() if k not in ('split', 'step')), test
  return str(workdir)


def _assert_figure(workdir, name):
  image = matplotlib.image.imread(os.path.join(workdir, 'figures', name))
  assert image.ndim == 3 and image.shape[-1] in (3, 4)


def _assert_samples(workdir, shape):
  samples = samples_of_saved_run(workdir, 3)
  assert samples.shape == (3, *shape) and 0.0 <= samples.min() and samples.max() <= 1.0


@pytest.fixture(scope='module')
def cifar_vqvae():
  """configs/vqvae.py:cifar10_smoke trained on random CIFAR-shaped images: its 8x8x10 codes.
  One run, which every worker reads (tests/smoke_runs.py)."""
  def train(workdir):
    with pytest.MonkeyPatch.context() as monkeypatch:
      use_random_cifar10(monkeypatch)
      _train(vqvae.FAMILY, vqvae_config.get_config('cifar10_smoke'), workdir)
  return str(trained_in_process('random-cifar10-vqvae-cifar10_smoke', train).workdir)


def test_the_vqvae_has_ten_codes_a_position_and_reconstructs_colour(cifar_vqvae):
  a = last_artifacts(cifar_vqvae)
  assert a['recon_means'].shape[1:] == a['uniform_prior_samples'].shape[1:] == (32, 32, 3)
  assert is_colour_png(os.path.join(cifar_vqvae, 'figures', 'reconstructions.png'))
  assert restore.load_run(cifar_vqvae).signature['model']['code_groups'] == 10


def test_the_code_prior_trains_on_the_8x8x10_codes_and_decodes_colour(
    cifar_vqvae, tmp_path, monkeypatch):
  use_random_cifar10(monkeypatch)
  config = code_prior_config.get_config('cifar10_smoke')
  config.unlock()
  config.data.stage1_workdir = cifar_vqvae
  workdir = _train(code_prior.FAMILY, config, tmp_path)
  info = code_prior.FAMILY.data(config, 0, 1).info
  assert tuple(info.example_shape) == (8, 80)  # 10 codes at each of 8x8 positions
  assert last_artifacts(workdir)['samples'].shape[1:] == (32, 32, 3)
  _assert_figure(workdir, 'samples.png')
  _assert_samples(workdir, (32, 32, 3))
  # Loaded without its data, it scores the bound its eval reported, per colour sub-pixel.
  scored = genjax.load(workdir).score(max_examples=config.eval.test_examples)
  assert scored['kind'] == 'bound'
  np.testing.assert_allclose(scored['bits_per_dim'],
                             last_metrics(workdir, 'test')['bound_bits_per_dim'], rtol=1e-5)


def test_a_second_stage_refuses_a_stage_1_of_other_images(cifar_vqvae, monkeypatch):
  use_random_cifar10(monkeypatch)
  config = var_config.get_config('d16_smoke')  # names ImageNet
  config.unlock()
  config.data.stage1_workdir = cifar_vqvae
  with pytest.raises(UserError, match="data.name='imagenet2012', but the stage-1 run"):
    var.FAMILY.data(config, 0, 1)
