"""MaskGIT through the one loop: the smoke run (over the session's VQ-VAE smoke run) learns, draws
its figures and the canvas after each decoding step, and a trained MaskGIT samples with
its options and refuses a step count its code grid cannot take."""

import json
import math

import jax
import numpy as np
import pytest

import genjax
from configs import maskgit as maskgit_config
from genjax.config import ConfigError
from genjax.errors import OptionError
from genjax.families import maskgit
from genjax.trained.model import UnsupportedError
from tests.smoke_runs import over_shared_vqvae


@pytest.fixture(scope='module')
def run():
  """The session's smoke run, which tests/experiments/test_smoke.py also reads."""
  return over_shared_vqvae('maskgit')


def test_the_smoke_run_learns_the_masked_codes(run):
  rows = [json.loads(line) for line in open(run.workdir / 'metrics.jsonl')]
  test = [r for r in rows if r['split'] == 'test']
  train = [r for r in rows if r['split'] == 'train']
  assert [r['step'] for r in test] == [4, 8]
  # The same masks at every evaluation (the eval key is fixed): the NLL of the test codes
  # at them falls as the model trains, and the training loss falls too.
  assert test[-1]['masked_nll'] < test[0]['masked_nll']
  assert train[-1]['loss'] < train[0]['loss']
  # Training masks ceil(cos(pi r / 2) N) of N = 4 codes: about 2 / pi + 1 / (2 N).
  fraction = np.mean([r['mask_fraction'] for r in train])
  assert abs(fraction - (2 / math.pi + 0.125)) < 0.1


def test_the_artifacts_hold_the_canvas_after_each_decoding_step(run):
  with np.load(run.workdir / 'artifacts' / 'step_00000008.npz') as a:
    np.testing.assert_array_equal(a['step_reveals'], [1, 1, 1, 1])  # 4 codes in 4 steps
    assert a['step_images'].shape == (4, 8, 8, 8, 1)  # steps, samples shown, 8x8 digits
    # The fraction still masked after each step: 3, 2, 1 and 0 of the 4 codes.
    np.testing.assert_allclose(a['step_masked'].mean(axis=(1, 2, 3)), [0.75, 0.5, 0.25, 0.0],
                               atol=1e-6)
    assert a['class_grid'].shape == (20, 8, 8, 1) and a['samples'].shape == (20, 8, 8, 1)
    assert 0.0 <= a['samples'].min() <= a['samples'].max() <= 1.0


def test_a_trained_maskgit_samples_with_its_options_and_has_no_likelihood(run):
  model = genjax.load(str(run.workdir))
  assert model.inference.likelihood is None
  assert model.inference.sample_options == {'steps': 4, 'temperature': 1.0, 'label': None,
                                            'guidance': 0.0}
  # 20 samples in 4 steps, unguided: the program the run's own artifacts compiled.
  twos = model.sample(jax.random.PRNGKey(0), 20, label=2)
  assert twos.shape == (20, 8, 8, 1) and 0.0 <= twos.min() <= twos.max() <= 1.0
  np.testing.assert_array_equal(model.sample(0, 20, label=2), twos)
  assert not np.array_equal(model.sample(1, 20, label=2), twos)
  with pytest.raises(OptionError, match='steps between 1 and 4'):
    model.sample(0, 3, steps=5)
  with pytest.raises(OptionError, match=r'classes are 0\.\.9'):
    model.sample(0, 3, label=10)
  with pytest.raises(UnsupportedError):
    model.bound(next(model.batches('test', batch_size=4)))
  run.assert_unchanged()


def test_a_config_with_more_steps_than_codes_is_refused_in_one_line():
  config = maskgit_config.get_config('smoke')
  config.unlock()
  config.eval.steps = 5
  with pytest.raises(ConfigError, match='--config.eval.steps=4'):
    maskgit.check_config(config, num_tokens=4)
  config = maskgit_config.get_config('smoke,uncond')
  config.unlock()
  config.eval.guidance = 1.0
  with pytest.raises(ConfigError, match='conditional=True'):
    maskgit.check_config(config, num_tokens=4)
