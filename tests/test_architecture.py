"""ARCHITECTURE.md's worked example is a complete family: this runs the block as the
document prints it, trains it through the one loop from a config built as its checklist
says, and checks the maximum-likelihood answer, its resume and its sampler."""

import os
import re
import types

import jax
import numpy as np
import pytest

import genjax
from genjax import data as data_lib
from genjax.training.loop import train_and_evaluate
from genjax.training.restore import load_run
from tests.conftest import REPO


def _worked_example() -> types.ModuleType:
  with open(os.path.join(REPO, 'ARCHITECTURE.md')) as f:
    text = f.read()
  section = text.split('## A worked example', 1)[1]
  code = re.search(r'```python\n(.*?)```', section, re.S).group(1)
  module = types.ModuleType('gaussian')
  exec(compile(code, 'ARCHITECTURE.md', 'exec'), module.__dict__)  # pylint: disable=exec-used
  return module


def _config(family_def, total_steps):
  c = family_def.schema()  # as the checklist's configs/gaussian.py
  c.family = 'gaussian'
  c.data.name, c.data.binarize = 'digits', 'none'
  c.optimizer.learning_rate = 0.05
  c.batch_size, c.eval_batch_size = 1500, 500  # the whole training set: full-batch steps
  c.total_steps, c.steps_per_call = total_steps, 10
  c.log_every = c.eval_every = c.ckpt_every = 100
  return c


@pytest.mark.slow
def test_the_worked_example_trains_to_the_closed_form_and_resumes(tmp_path):
  gaussian = _worked_example()
  family_def = gaussian.FAMILY
  assert family_def.name == 'gaussian'
  workdir = str(tmp_path)
  train_and_evaluate(family_def, _config(family_def, 300), workdir)
  final = train_and_evaluate(family_def, _config(family_def, 600), workdir)  # resumed
  del final
  run = load_run(workdir, family='gaussian')
  assert run.step == 600

  pixels = data_lib.load_image_dataset('digits', 'train').images.astype(np.float64) / 255.0
  mean, std = pixels.mean(0), pixels.std(0)
  fitted = jax.tree.map(np.asarray, run.params)
  # Maximum likelihood is the data's mean and standard deviation, pixel by pixel; pixels
  # the digits never use stay at the log-std floor.
  np.testing.assert_allclose(fitted['mean'], mean, atol=0.02)
  used = std > 0.05
  np.testing.assert_allclose(np.exp(fitted['log_std'])[used], std[used], rtol=0.1)

  model = genjax.load(workdir, family=family_def)  # the trained model, as a user reads it
  draws = model.sample(jax.random.PRNGKey(0), 4000)
  assert draws.shape == (4000, *model.info.example_shape)
  np.testing.assert_allclose(draws.mean(0), fitted['mean'], atol=0.05)
  assert os.path.exists(os.path.join(workdir, 'final_metrics.json'))


def test_the_layer_order_it_states_is_the_one_the_import_test_holds():
  from tests.test_imports import LAYERS  # pylint: disable=g-import-not-at-top
  with open(os.path.join(REPO, 'ARCHITECTURE.md')) as f:
    text = ' '.join(f.read().split())
  stated = re.search(r'`(errors < [^`]*)`', text).group(1)
  assert [name.strip() for name in stated.split('<')] == [l for l in LAYERS if l != '__init__']
