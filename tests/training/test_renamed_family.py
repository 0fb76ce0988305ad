"""A run saved before its family was renamed still loads and resumes under the new name.

The Glow family was 'flow' (`genjax.commands.FAMILY_ALIASES`). A run from then carries
'flow' in its config.json, in every workdir marker, and in its checkpoints' signature;
`load_run` reads it as a glow run, with the same arrays, and the glow main resumes it.
"""

import glob
import json
import os
import shutil

import jax
import numpy as np
import pytest

from configs import glow as glow_config
from genjax.commands import FAMILY_ALIASES, canonical_family
from genjax.families import glow
from genjax.training.loop import train_and_evaluate
from genjax.training.restore import load_run
from tests.families.run_config import unlocked

OLD, NEW = 'flow', 'glow'
FIRST_STEPS, TOTAL_STEPS = 4, 8


def _config(total_steps, learning_rate=None):
  config = unlocked(glow_config, 'smoke', total_steps=total_steps)
  if learning_rate is not None:
    config.optimizer.learning_rate = learning_rate
  return config


def _as_before_the_rename(workdir) -> list[str]:
  """Rewrites every family marker of a glow run in `workdir` to 'flow', as a run saved
  before the rename has them: config.json, any other JSON record at the top of the workdir
  that names the family, and each checkpoint's saved signature. Returns what it rewrote."""
  rewritten = []

  def rewrite(path, field_path):
    with open(path) as f:
      record = json.load(f)
    holder = record
    for key in field_path[:-1]:
      holder = holder[key]
    if holder.get(field_path[-1]) != NEW:
      return
    holder[field_path[-1]] = OLD
    with open(path, 'w') as f:
      json.dump(record, f)
    rewritten.append(os.path.relpath(path, workdir))

  for path in sorted(glob.glob(os.path.join(workdir, '*'))) + sorted(
      glob.glob(os.path.join(workdir, '.*'))):
    if not os.path.isfile(path) or os.path.basename(path) in ('metrics.jsonl', '.lock'):
      continue
    try:
      rewrite(path, ('family',))
    except (json.JSONDecodeError, UnicodeDecodeError, AttributeError):
      pass  # not a JSON record (or not one naming a family)
  for path in sorted(glob.glob(os.path.join(workdir, 'checkpoints', '*', 'meta', 'metadata'))):
    rewrite(path, ('signature', 'family'))
  return rewritten


def test_the_alias_table_maps_the_old_name_to_the_family():
  assert FAMILY_ALIASES[OLD] == NEW == glow.FAMILY.name
  assert canonical_family(OLD) == NEW and canonical_family(NEW) == NEW
  assert canonical_family('vae') == 'vae'


@pytest.mark.slow
def test_a_run_saved_as_flow_loads_and_resumes_as_glow(tmp_path):
  renamed, reference = str(tmp_path / 'renamed'), str(tmp_path / 'reference')
  train_and_evaluate(glow.FAMILY, _config(FIRST_STEPS), renamed)
  before = load_run(renamed, family=NEW)
  shutil.copytree(renamed, reference)

  rewritten = _as_before_the_rename(renamed)
  assert 'config.json' in rewritten
  assert os.path.join('checkpoints', str(FIRST_STEPS), 'meta', 'metadata') in rewritten
  with open(os.path.join(renamed, 'config.json')) as f:
    assert json.load(f)['family'] == OLD

  # Read back under either name, the arrays are the checkpoint's own.
  for run in (load_run(renamed), load_run(renamed, family=NEW)):
    assert run.step == FIRST_STEPS
    assert run.config.family == NEW and run.signature['family'] == NEW
    jax.tree.map(np.testing.assert_array_equal, run.params, before.params)

  # The glow main resumes it where it stopped. The second leg trains at another rate, so
  # a run that started over (8 steps at that rate) would not match the reference, which
  # resumed the same checkpoint unrenamed.
  second_leg = _config(TOTAL_STEPS, learning_rate=3e-3)
  train_and_evaluate(glow.FAMILY, second_leg, renamed)
  train_and_evaluate(glow.FAMILY, _config(TOTAL_STEPS, learning_rate=3e-3), reference)
  resumed, expected = load_run(renamed, family=NEW), load_run(reference, family=NEW)
  assert resumed.step == expected.step == TOTAL_STEPS
  jax.tree.map(np.testing.assert_array_equal, resumed.params, expected.params)
  restarted = str(tmp_path / 'restarted')
  train_and_evaluate(glow.FAMILY, _config(TOTAL_STEPS, learning_rate=3e-3), restarted)
  differs = jax.tree.leaves(jax.tree.map(
      lambda a, b: not np.array_equal(a, b), load_run(restarted).params, resumed.params))
  assert any(differs), 'the resumed run equals one trained from scratch: it did not resume'
