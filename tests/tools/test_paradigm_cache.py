"""A row's kept measurements: read back under the key they were written with, and not under
the key of a retrained run or other options."""

import json

import numpy as np

from genjax.tools import paradigm_cache


def _run(path, final):
  path.mkdir(parents=True, exist_ok=True)
  (path / 'final_metrics.json').write_text(json.dumps(final))
  return {'workdir': str(path), 'train_steps': 10}


def test_measurements_are_kept_under_their_runs_and_options(tmp_path):
  row = _run(tmp_path / 'run', {'step': 10, 'loss': 1.5})
  options = {'frechet_samples': 1000, 'steps': (4, 8)}
  key = paradigm_cache.key(row, str(tmp_path / 'classifier'), options)
  cache = str(tmp_path / 'measured')
  assert paradigm_cache.read(cache, 'pixel DDPM', key) is None  # nothing kept yet
  measured = {'fd': 12.5, 'likelihood': {'bits_per_dim': None, 'kind': 'none'},
              'images_per_sec': {'16': 3.0}}
  samples = np.random.default_rng(0).random((4, 2, 2, 1), dtype=np.float32)
  paradigm_cache.write(cache, 'pixel DDPM', key, measured, samples)
  assert paradigm_cache.path(cache, 'pixel DDPM').endswith('/pixel_DDPM.npz')
  kept, kept_samples = paradigm_cache.read(cache, 'pixel DDPM', key)
  assert kept == measured
  np.testing.assert_array_equal(kept_samples, samples)
  # The same run through a link is the same run.
  (tmp_path / 'link').symlink_to(tmp_path / 'run')
  linked = {**row, 'workdir': str(tmp_path / 'link')}
  assert paradigm_cache.key(linked, str(tmp_path / 'classifier'), options) == key
  # Other options, another classifier, more steps or a retrained run: measured again.
  others = [
      paradigm_cache.key(row, str(tmp_path / 'classifier'), {**options, 'steps': (4,)}),
      paradigm_cache.key(row, str(tmp_path / 'other'), options),
      paradigm_cache.key({**row, 'train_steps': 20}, str(tmp_path / 'classifier'), options),
      paradigm_cache.key(_run(tmp_path / 'run', {'step': 10, 'loss': 1.4}),
                         str(tmp_path / 'classifier'), options)]
  for other in others:
    assert other != key
    assert paradigm_cache.read(cache, 'pixel DDPM', other) is None
