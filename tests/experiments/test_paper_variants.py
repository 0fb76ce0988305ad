"""Every paper variant (configs/<name>.py's PAPER_VARIANTS) builds at the paper's size, and
its smoke counterpart trains end to end on the paper's dataset, here TFDS's mock data:
source, host rows, background prefetch, model, likelihood, colour figures, and samples of
the saved run at the dataset's image shape. Each run is trained once (a VQ-VAE's may be the
stage 1 a second stage trains first) and read by its test."""

import glob
import importlib
import json
import os

import jax
import matplotlib.image
import numpy as np
import pytest

import genjax
from tests.smoke_runs import trained_in_process

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# Second stages train their VQ-VAE (data.stage1_config) into <workdir>/stage1 first.
SECOND_STAGES = ('code_prior', 'var')
# The figure of images each run draws, when it is not samples.png. (Its pixels of a few
# steps' training can be near grey; the samples' shape shows the colour.)
COLOUR_FIGURE = {'autoencoder': 'reconstructions.png', 'vqvae': 'reconstructions.png'}


def _paper_variants():
  """(config name, paper variant, its smoke counterpart) for every config that has any."""
  rows = []
  for path in sorted(glob.glob(os.path.join(REPO, 'configs', '*.py'))):
    name = os.path.basename(path)[:-3]
    if name.startswith('_') or name == 'variants':
      continue
    module = importlib.import_module(f'configs.{name}')
    for paper, smoke in getattr(module, 'PAPER_VARIANTS', {}).items():
      rows.append((name, paper, smoke))
  return rows


PAPER = _paper_variants()


def test_every_image_family_has_a_paper_variant():
  families = {name for name, _, _ in PAPER}
  assert {'autoregressive', 'diffusion', 'glow', 'gan', 'vqvae', 'var', 'vae',
          'autoencoder'} <= families


@pytest.mark.parametrize('name,paper,smoke', PAPER, ids=[f'{n}:{p}' for n, p, _ in PAPER])
def test_a_paper_variant_and_its_smoke_share_dataset_and_image_structure(name, paper, smoke):
  module = importlib.import_module(f'configs.{name}')
  full, small = module.get_config(paper), module.get_config(smoke)
  assert full.data.name == small.data.name
  assert full.data.channels == small.data.channels == 3
  assert full.family == small.family
  assert small.total_steps and small.total_steps <= 20


@pytest.fixture
def mock_tfds(tmp_path, monkeypatch):
  """TFDS's mock data for every dataset, under an empty data dir with a folder for each."""
  import tensorflow_datasets as tfds  # pylint: disable=g-import-not-at-top
  for folder in ('cifar10', 'celeb_a', 'lsun', 'imagenet_resized', 'imagenet2012'):
    (tmp_path / 'tfds' / folder).mkdir(parents=True)
  monkeypatch.setenv('TFDS_DATA_DIR', str(tmp_path / 'tfds'))
  with tfds.testing.mock_data(num_examples=128):
    yield


def _trained(name, smoke):
  """configs/<name>.py:<smoke> trained on the mock data, once per session: by the first
  test that reads it, in its process (where the mock data is)."""
  from genjax import launch  # pylint: disable=g-import-not-at-top
  from genjax.families import vqvae  # pylint: disable=g-import-not-at-top
  config = importlib.import_module(f'configs.{name}').get_config(smoke)
  # One evaluation and checkpoint, at the end: what the test reads, and a smoke run's
  # periodic ones are tested on the digits.
  config.unlock()
  config.eval_every = config.ckpt_every = config.total_steps
  family = importlib.import_module(f'genjax.families.{config.family}').FAMILY
  upstream = None
  if name in SECOND_STAGES:
    code_prior_config = importlib.import_module('configs.code_prior')
    upstream = (vqvae.FAMILY, code_prior_config.stage1_config)
  return trained_in_process(f'paper-{name}-{smoke}',
                            lambda workdir: launch.experiment(family, upstream=upstream)(
                                config, workdir))


def _second_stage_over(smoke):
  """(config name, smoke counterpart) of the second stage whose smoke counterpart trains
  configs/vqvae.py:<smoke> first, as its stage 1, or None."""
  return next(((name, stage2) for name, _, stage2 in PAPER if name in SECOND_STAGES and
               importlib.import_module(f'configs.{name}').get_config(
                   stage2).data.stage1_config == smoke), None)


@pytest.mark.slow
@pytest.mark.parametrize('name,paper,smoke', PAPER, ids=[f'{n}:{s}' for n, _, s in PAPER])
def test_a_paper_variants_smoke_counterpart_trains_on_mock_colour_data(
    name, paper, smoke, mock_tfds):
  del paper, mock_tfds  # the data of a run trained here
  config = importlib.import_module(f'configs.{name}').get_config(smoke)
  second_stage = _second_stage_over(smoke) if name == 'vqvae' else None
  if second_stage:
    # Trained first as its stage 1, as `python -m experiments.vqvae` trains it
    # (genjax.launch.experiment): the same run, trained once.
    workdir = str(_trained(*second_stage).workdir / 'stage1')
  else:
    workdir = str(_trained(name, smoke).workdir)
  with open(os.path.join(workdir, 'final_metrics.json')) as f:
    final = json.load(f)
  numbers = [v for v in jax.tree.leaves(final) if isinstance(v, (int, float))]
  assert numbers and np.all(np.isfinite(numbers)), final
  figure = os.path.join(workdir, 'figures', COLOUR_FIGURE.get(name, 'samples.png'))
  assert matplotlib.image.imread(figure).shape[-1] in (3, 4), figure  # RGB(A), not grey
  with open(os.path.join(workdir, 'config.json')) as f:
    assert json.load(f)['data']['name'] == config.data.name
  model = genjax.load(workdir)
  if model.inference.sample is None:
    return  # an autoencoder draws no samples
  samples = model.sample(0, 3)
  stage1 = model.config.data.get('stage1_workdir')  # a second stage draws its stage 1's images
  image_shape = tuple((genjax.load(stage1) if stage1 else model).info.example_shape)
  assert samples.shape == (3,) + image_shape and image_shape[-1] == 3
  assert 0.0 <= samples.min() and samples.max() <= 1.0


def test_the_table_of_paper_variants_counts_each_ones_parameters():
  from genjax.evals import paper_variants  # pylint: disable=g-import-not-at-top
  rows = {}
  for name, paper, smoke in PAPER:
    module = importlib.import_module(f'configs.{name}')
    config = module.get_config(paper)
    count = None
    if name not in SECOND_STAGES:
      family_def = importlib.import_module(f'genjax.families.{config.family}').FAMILY
      count = paper_variants.parameter_count(family_def, config)
    rows[f'{name}:{paper}'] = paper_variants.row(name, paper, smoke, config, count)
  assert '| 35,746,307 |' in rows['diffusion:cifar10']  # Ho et al.: 35.7M
  assert '| 128 x 800,000 |' in rows['diffusion:cifar10']
  assert '| 32x32x3 |' in rows['glow:cifar10'] and '| 512 x 1000 epochs |' in rows['glow:cifar10']
  assert '| 256x256x3 | over a stage 1 |' in rows['var:d16']


def test_the_256x256_ddpm_has_the_papers_114m_parameters():
  """Ho et al. (2020, Appendix B): the LSUN and CelebA-HQ models have 114M parameters; the
  AOT table compiles this variant, which cannot be trained here."""
  from configs import diffusion  # pylint: disable=g-import-not-at-top
  from genjax.evals import paper_variants  # pylint: disable=g-import-not-at-top
  from genjax.families import diffusion as family  # pylint: disable=g-import-not-at-top
  config = diffusion.get_config('church256')
  assert paper_variants.image_shape(config) == (256, 256, 3)
  assert round(paper_variants.parameter_count(family.FAMILY, config) / 1e6) == 114
