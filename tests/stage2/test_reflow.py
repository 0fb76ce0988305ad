"""Reflow: its pairs, each the teacher's ODE end point from its own noise and stored once
beside the teacher; a flow-matching run trained on them from the teacher's weights through
the loop; and its one-line refusals of a teacher it cannot use."""

import os
import shutil

import jax
import numpy as np
import pytest

import genjax
from configs import flow_matching as fm_config
from genjax.errors import UserError
from genjax.families import flow_matching
from genjax.stage2 import reflow
from genjax.training.loop import train_and_evaluate
from genjax.training.restore import load_run
from tests.families.run_config import unlocked
from tests.smoke_runs import scored_ddpm, trained

_SHAPE = (4, 4, 1)


def _squash(rng, x0):
  del rng
  return 1.0 / (1.0 + np.exp(-np.asarray(x0)))


def test_the_pairs_are_end_points_of_their_own_noise_and_a_function_of_the_seed():
  lines = []
  a = reflow.draw_pairs(_squash, _SHAPE, 10, seed=3, batch=4, log=lines.append)
  b = reflow.draw_pairs(_squash, _SHAPE, 10, seed=3, batch=4, log=lambda line: None)
  c = reflow.draw_pairs(_squash, _SHAPE, 10, seed=4, batch=4, log=lambda line: None)
  assert a['noise'].shape == a['image'].shape == (10,) + _SHAPE
  np.testing.assert_array_equal(a['image'], _squash(None, a['noise']))
  jax.tree.map(np.testing.assert_array_equal, a, b)
  assert not np.allclose(a['noise'], c['noise'])
  # Progress after every batch of 4, 4 and 2.
  assert [line.split(' after')[0] for line in lines] == [
      'reflow pairs: 4/10', 'reflow pairs: 8/10', 'reflow pairs: 10/10']
  # The noise is standard normal: its mean and variance within 4 standard errors.
  noise = reflow.draw_pairs(_squash, _SHAPE, 2000, seed=0, log=lambda line: None)['noise']
  n = noise.size
  assert abs(noise.mean()) < 4 / np.sqrt(n)
  assert abs(noise.var() - 1) < 4 * np.sqrt(2 / n)


@pytest.fixture(scope='module')
def teacher(tmp_path_factory):
  """A copy of the flow-matching smoke run: reflow writes its pairs beside the teacher."""
  path = tmp_path_factory.mktemp('teacher') / 'run'
  shutil.copytree(trained('flow_matching').workdir, path)
  return path


def _config(teacher, **data):
  c = unlocked(fm_config, 'smoke')
  c.data.update({'reflow_teacher': str(teacher), 'reflow_pairs': 40, 'reflow_solver': 'euler',
                 'reflow_steps': 3, **data})
  return c


@pytest.mark.slow
def test_a_reflow_run_trains_on_its_teachers_pairs_from_the_teachers_weights(teacher,
                                                                             tmp_path):
  config = _config(teacher)
  data = flow_matching.FAMILY.data(config, 0, 1)
  saved = load_run(str(teacher))
  path = reflow.pairs_path(saved, 40, 'euler', 3, config.seed)
  with np.load(path) as stored:
    pairs = {k: stored[k] for k in ('noise', 'image')}
  # Each end point is the teacher's sample from the pair's noise, by the solver asked for.
  again = genjax.load(str(teacher)).sample(0, 40, noise=pairs['noise'], solver='euler',
                                           steps=3)
  np.testing.assert_allclose(again, pairs['image'], atol=1e-6)
  # The stream serves whole pairs; evaluation is on the teacher's test images.
  assert data.info.num_train == 40
  batch = data.train.batch(0)
  rows = [int(np.argmin(np.abs(pairs['noise'] - x0).sum((1, 2, 3)))) for x0 in batch['noise']]
  np.testing.assert_array_equal(batch['image'], pairs['image'][rows])
  assert len(set(rows)) == config.batch_size
  teacher_data = flow_matching.FAMILY.data(saved.config, 0, 1)
  np.testing.assert_array_equal(data.info.test_images.images,
                                teacher_data.info.test_images.images)
  # Training starts from the teacher's (EMA) weights.
  family = flow_matching.build(config, data.info)
  start = family.training.init_params(jax.random.PRNGKey(0), batch)
  jax.tree.map(np.testing.assert_array_equal, start, saved.eval_params)
  # Through the loop to the end, reading the stored pairs rather than drawing them again.
  written = os.stat(path).st_mtime_ns
  workdir = str(tmp_path / 'reflow')
  train_and_evaluate(flow_matching.FAMILY, config, workdir)
  assert os.stat(path).st_mtime_ns == written
  model = genjax.load(workdir)
  assert model.step == config.total_steps
  assert model.sample(1, 3, solver='euler', steps=1).shape == (3,) + data.info.image_shape


@pytest.mark.slow
def test_a_teacher_it_cannot_use_is_refused_in_one_line(teacher, tmp_path):
  unfinished = tmp_path / 'unfinished'
  shutil.copytree(teacher, unfinished)
  (unfinished / 'final_metrics.json').unlink()
  # A class-conditional teacher: the same run with its checkpoints' signature saying so.
  conditional = tmp_path / 'conditional'
  shutil.copytree(teacher, conditional)
  for meta in conditional.glob('checkpoints/*/meta/metadata'):
    text = meta.read_text()
    assert '"conditional": false' in text
    meta.write_text(text.replace('"conditional": false', '"conditional": true'))
  cases = [
      (dict(reflow_teacher=str(tmp_path / 'none')), 'holds no genjax run'),
      (dict(reflow_teacher=str(scored_ddpm().workdir)), "holds a 'diffusion' run"),
      (dict(reflow_teacher=str(unfinished)), 'is unfinished'),
      (dict(reflow_teacher=str(conditional)), 'is class-conditional; reflow draws its pairs '
       'from p(x): train the teacher without model.conditional'),
      (dict(reflow_steps=5000), 'data.reflow_steps=5000 is more than the solvers take'),
      (dict(reflow_pairs=3), 'data.reflow_pairs=3 is fewer than a batch'),
  ]
  for data, message in cases:
    with pytest.raises(UserError) as refusal:
      flow_matching.FAMILY.data(_config(teacher, **data), 0, 1)
    assert message in str(refusal.value) and '\n' not in str(refusal.value), data
  wider = _config(teacher)
  wider.model.channels = 8
  with pytest.raises(UserError) as refusal:
    flow_matching.FAMILY.data(wider, 0, 1)
  assert str(refusal.value).startswith(
      "Reflow starts from the teacher's weights, so its network must be the teacher's: "
      'model.channels=8 (teacher: 16)')
