"""Stored code grids: round trip, atomic write, the range check, the stream over them."""

import os

import numpy as np
import pytest

from genjax.data import (DatasetNotFoundError, code_grid_stream, load_code_grids,
                         save_code_grids)

SOURCE = {'workdir': '/runs/vqvae', 'signature': {'family': 'vqvae', 'num_codes': 8}}


def _codes(n=20):
  return np.random.default_rng(0).integers(0, 8, (n, 3, 4))


@pytest.mark.parametrize('with_labels', [True, False])
def test_round_trip(tmp_path, with_labels):
  path = str(tmp_path / 'codes.npz')
  labels = np.arange(20) % 10 if with_labels else None
  save_code_grids(path, _codes(), labels, num_codes=8, source=SOURCE)
  grids = load_code_grids(path)
  assert grids.codes.dtype == np.int32
  np.testing.assert_array_equal(grids.codes, _codes())
  if with_labels:
    np.testing.assert_array_equal(grids.labels, labels)
  else:
    assert grids.labels is None
  assert grids.num_codes == 8 and grids.source == SOURCE


def test_write_is_atomic_and_replaces_the_old_file(tmp_path):
  path = str(tmp_path / 'sub' / 'codes.npz')
  save_code_grids(path, _codes(), None, num_codes=8, source=SOURCE)
  save_code_grids(path, _codes(5), None, num_codes=8, source={'workdir': 'b'})
  assert os.listdir(tmp_path / 'sub') == ['codes.npz']
  assert load_code_grids(path).source == {'workdir': 'b'}
  with pytest.raises(TypeError):  # a source that is not JSON leaves the old file whole
    save_code_grids(path, _codes(), None, num_codes=8, source={'x': object()})
  assert os.listdir(tmp_path / 'sub') == ['codes.npz'] and len(load_code_grids(path).codes) == 5


def test_codes_outside_the_codebook_are_refused(tmp_path):
  with pytest.raises(ValueError, match=r'span 0..7, outside 0..3 for num_codes=4'):
    save_code_grids(str(tmp_path / 'a.npz'), _codes(), None, num_codes=4, source=SOURCE)
  with pytest.raises(ValueError, match=r'integers \[N, H, W\]'):
    save_code_grids(str(tmp_path / 'a.npz'), _codes()[0], None, num_codes=8, source=SOURCE)
  with pytest.raises(ValueError, match=r'labels must be integers \[20\]'):
    save_code_grids(str(tmp_path / 'a.npz'), _codes(), np.zeros(3, int), num_codes=8,
                    source=SOURCE)
  path = str(tmp_path / 'bad.npz')  # written by something else with a smaller codebook
  np.savez(path, codes=_codes(), metadata=np.asarray('{"num_codes": 4, "source": {}}'))
  with pytest.raises(ValueError, match=r'in .*bad.npz span 0..7, outside 0..3'):
    load_code_grids(path)


def test_a_missing_file_names_the_command_that_makes_it(tmp_path):
  path = str(tmp_path / 'none.npz')
  with pytest.raises(DatasetNotFoundError, match='make it with: python -m genjax.launch x'):
    load_code_grids(path, make_command='python -m genjax.launch x')
  with pytest.raises(FileNotFoundError, match='save_code_grids'):
    load_code_grids(path)


def test_stream_is_deterministic_and_splits_by_host(tmp_path):
  path = str(tmp_path / 'codes.npz')
  save_code_grids(path, _codes(), None, num_codes=8, source=SOURCE)
  grids = load_code_grids(path)
  whole = code_grid_stream(grids, global_batch_size=6, seed=3).stacked(0, 5)
  again = code_grid_stream(grids, global_batch_size=6, seed=3).stacked(0, 5)
  parts = [code_grid_stream(grids, global_batch_size=6, seed=3, process_index=i,
                            process_count=2).stacked(0, 5) for i in range(2)]
  assert whole['codes'].shape == (5, 6, 3, 4) and not whole['label'].any()
  for key in ('codes', 'label'):
    np.testing.assert_array_equal(whole[key], again[key])
    np.testing.assert_array_equal(np.concatenate([p[key] for p in parts], axis=1), whole[key])
  assert not np.array_equal(whole['codes'][0], whole['codes'][1])
  # An epoch is 3 steps of 6 of the 20 grids, in the order of the epoch's permutation.
  order = np.random.default_rng([3, 0]).permutation(20)[:18]
  np.testing.assert_array_equal(whole['codes'][:3].reshape(18, 3, 4), _codes()[order])
