"""Exports are plain files: nested weights survive safetensors with their dtypes and empty
subtrees, and a directory with a missing or mismatched file is refused naming it."""

import json

import ml_collections
import numpy as np
import pytest
from etils import epath

from genjax.data.family_data import DataInfo
from genjax.training import exported, restore


def test_a_tree_of_weights_round_trips_with_dtypes_and_empty_subtrees(tmp_path):
  tree = {'encoder': {'Dense_0': {'kernel': np.arange(6, dtype=np.float32).reshape(2, 3),
                                  'bias': np.zeros(3, np.float16)}},
          'counts': np.array([1, 2], np.int64), 'scalar': np.float32(2.5),
          'no_params': {}}
  path = epath.Path(tmp_path) / 'w.safetensors'
  exported.write_tree(tree, path)
  back = exported.read_tree(path)
  assert back['no_params'] == {}
  for keys in (('encoder', 'Dense_0', 'kernel'), ('encoder', 'Dense_0', 'bias'), ('counts',)):
    a, b = tree, back
    for k in keys:
      a, b = a[k], b[k]
    np.testing.assert_array_equal(b, a)
    assert b.dtype == a.dtype
  assert back['scalar'].shape == () and back['scalar'] == 2.5


def _saved_run(workdir, **fields):
  config = ml_collections.ConfigDict({'family': 'gmm', 'seed': 0})
  run = dict(workdir=str(workdir), config=config, step=7, signature={'family': 'gmm'},
             params={'means': np.ones((2, 3), np.float32)}, ema_params=None,
             model_state={'log_likelihood': np.float32(-1.0)}, upstream=None, finished=True)
  run.update(fields)
  return restore.SavedRun(**run)


def test_an_export_reads_back_as_the_run_it_was(tmp_path):
  out = tmp_path / 'out'
  exported.write(_saved_run(tmp_path), str(out), info=DataInfo(num_train=5,
                                                                example_shape=(3,)))
  back = restore.load_run(str(out), family='gmm')
  assert (back.step, back.finished, back.config.family) == (7, True, 'gmm')
  np.testing.assert_array_equal(back.eval_params['means'], np.ones((2, 3)))
  assert float(back.model_state['log_likelihood']) == -1.0
  assert json.loads((out / 'model.json').read_text())['weights'] == 'trained'


def test_ema_weights_are_exported_when_the_run_kept_them(tmp_path):
  run = _saved_run(tmp_path, ema_params={'means': np.full((2, 3), 5.0, np.float32)})
  exported.write(run, str(tmp_path / 'ema'), info=DataInfo(num_train=5))
  exported.write(run, str(tmp_path / 'raw'), weights='trained', info=DataInfo(num_train=5))
  assert restore.load_run(str(tmp_path / 'ema')).params['means'][0, 0] == 5.0
  assert restore.load_run(str(tmp_path / 'raw')).params['means'][0, 0] == 1.0


@pytest.mark.parametrize('damage,message', [
    ('missing params', 'params.safetensors is missing'),
    ('missing model state', 'model_state.safetensors is missing'),
    ('another family', "names family 'vae' but config.json is a 'gmm' config"),
    ('truncated weights', 'a weights file is unreadable'),
])
def test_a_damaged_export_is_refused_naming_the_file(tmp_path, damage, message):
  out = tmp_path / 'out'
  exported.write(_saved_run(tmp_path), str(out), info=DataInfo(num_train=5))
  if damage == 'missing params':
    (out / 'params.safetensors').unlink()
  elif damage == 'missing model state':
    (out / 'model_state.safetensors').unlink()
  elif damage == 'another family':
    record = json.loads((out / 'model.json').read_text())
    (out / 'model.json').write_text(json.dumps({**record, 'family': 'vae'}))
  else:
    data = (out / 'params.safetensors').read_bytes()
    (out / 'params.safetensors').write_bytes(data[:len(data) // 2])
  with pytest.raises(exported.ExportError, match=message):
    restore.load_run(str(out))
