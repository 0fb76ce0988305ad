"""An .npz written whole or not at all."""

import os

import numpy as np
import pytest

from genjax.data import npz_file


def test_a_failed_write_leaves_the_old_file_and_no_partial_one(tmp_path, monkeypatch):
  path = str(tmp_path / 'sub' / 'a.npz')
  npz_file.write_atomically(path, {'x': np.arange(3)})

  def fail(*args, **kwargs):
    raise OSError('disk full')

  monkeypatch.setattr(os, 'replace', fail)
  with pytest.raises(OSError):
    npz_file.write_atomically(path, {'x': np.arange(5)})
  monkeypatch.undo()
  assert os.listdir(tmp_path / 'sub') == ['a.npz']
  with np.load(path) as stored:
    np.testing.assert_array_equal(stored['x'], np.arange(3))
  npz_file.write_atomically(path, {'x': np.arange(5)})
  with np.load(path) as stored:
    np.testing.assert_array_equal(stored['x'], np.arange(5))
