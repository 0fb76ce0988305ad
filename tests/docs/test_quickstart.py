"""docs/quickstart.ipynb runs as written: every code cell, in order, in one namespace (as a
kernel would run them), with its runs in a scratch folder."""

import json
import os

import matplotlib
import pytest

from tests.conftest import REPO

NOTEBOOK = os.path.join(REPO, 'docs', 'quickstart.ipynb')


def code_cells() -> list[str]:
  with open(NOTEBOOK) as f:
    notebook = json.load(f)
  return [''.join(c['source']) for c in notebook['cells'] if c['cell_type'] == 'code']


@pytest.mark.slow
def test_the_quickstart_notebook_executes(tmp_path, monkeypatch):
  matplotlib.use('Agg')
  monkeypatch.setenv('GENJAX_QUICKSTART_RUNS', str(tmp_path / 'runs'))
  monkeypatch.chdir(os.path.join(REPO, 'docs'))  # where a kernel opened on it starts
  namespace = {}
  for i, source in enumerate(code_cells()):
    exec(compile(source, f'quickstart.ipynb cell {i}', 'exec'), namespace)  # pylint: disable=exec-used
  assert os.getcwd() == REPO
  assert namespace['score']['kind'] == 'bound' and namespace['score']['examples'] > 0
  assert {n: s['kind'] for n, s in namespace['rows'].items()} == {'glow': 'exact',
                                                                  'gated': 'exact'}
