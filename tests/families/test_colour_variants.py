"""The colour paper variants' smoke counterparts through the one loop, in process, on random
colour images of their datasets' shapes: DCGAN at 64x64 (LSUN) and 32x32 (CIFAR-10), the
VQ-VAE's 8x8x10 CIFAR-10 codes with the code prior over them, and VAR over CIFAR-10's and
ImageNet's multi-scale tokens. Each trains, evaluates, draws colour figures and samples."""

import os

import matplotlib.image
import numpy as np
import pytest

from configs import code_prior as code_prior_config
from configs import gan as gan_config
from configs import var as var_config
from configs import vqvae as vqvae_config
from genjax.errors import UserError
from genjax.families import code_prior, gan, var, vqvae
from genjax.training import restore
from genjax.training.loop import train_and_evaluate
from tests.families.colour_data import fake_splits
from tests.families.colour_runs import (CIFAR10, is_colour_png, last_artifacts, last_metrics,
                                        samples_of_saved_run, use_random_cifar10)

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


def _assert_samples(family_def, workdir, shape):
  samples = samples_of_saved_run(family_def, workdir, 3)
  assert samples.shape == (3, *shape) and 0.0 <= samples.min() and samples.max() <= 1.0


@pytest.mark.parametrize('variant,name,shape', [('lsun64_smoke', 'lsun/bedroom', (64, 64, 3)),
                                                ('cifar10_smoke',) + CIFAR10[:2]])
def test_dcgan_trains_and_draws_colour_at_the_papers_size(
    tmp_path, monkeypatch, variant, name, shape):
  fake_splits(monkeypatch, name, shape, num_classes=10)
  workdir = _train(gan.FAMILY, gan_config.get_config(variant), tmp_path)
  a = last_artifacts(workdir)
  assert a['samples'].shape[1:] == shape and a['interpolation'].shape[2:] == shape
  for figure in ('samples.png', 'samples_over_training.png', 'interpolation.png'):
    _assert_figure(workdir, figure)
  _assert_samples(gan.FAMILY, workdir, shape)


@pytest.fixture(scope='module')
def cifar_vqvae(tmp_path_factory):
  """configs/vqvae.py:cifar10_smoke trained on random CIFAR-shaped images: its 8x8x10 codes."""
  with pytest.MonkeyPatch.context() as monkeypatch:
    use_random_cifar10(monkeypatch)
    return _train(vqvae.FAMILY, vqvae_config.get_config('cifar10_smoke'),
                  tmp_path_factory.mktemp('vqvae_cifar10'))


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
  _assert_samples(code_prior.FAMILY, workdir, (32, 32, 3))


def test_a_second_stage_refuses_a_stage_1_of_other_images(cifar_vqvae, monkeypatch):
  use_random_cifar10(monkeypatch)
  config = var_config.get_config('d16_smoke')  # names ImageNet
  config.unlock()
  config.data.stage1_workdir = cifar_vqvae
  with pytest.raises(UserError, match="data.name='imagenet2012', but the stage-1 run"):
    var.FAMILY.data(config, 0, 1)


@pytest.mark.parametrize('variant,name,shape,classes', [
    ('cifar10_smoke',) + CIFAR10,
    ('d16_smoke', 'imagenet2012', (32, 32, 3), 1000)])
def test_var_trains_over_a_colour_tokenizer_and_draws_colour(
    tmp_path, monkeypatch, variant, name, shape, classes):
  fake_splits(monkeypatch, name, shape, classes)
  config = var_config.get_config(variant)
  tokenizer = _train(vqvae.FAMILY, vqvae_config.get_config(config.data.stage1_config),
                     tmp_path / 'stage1')
  config.unlock()
  config.data.stage1_workdir = tokenizer
  workdir = _train(var.FAMILY, config, tmp_path / 'var')
  a = last_artifacts(workdir)
  assert a['samples'].shape[1:] == shape and a['scale_samples'].shape[2:] == shape
  for figure in ('samples.png', 'scale_by_scale.png'):
    _assert_figure(workdir, figure)
  _assert_samples(var.FAMILY, workdir, shape)
