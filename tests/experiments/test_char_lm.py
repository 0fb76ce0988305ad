"""The character model's smoke config from its command line: held-out bits/char with its
standard error in metrics.jsonl, and samples from each prompt as text and as a picture.

tests/experiments/test_smoke.py lists this main among those whose smoke run is tested
elsewhere."""

import json
import os

import numpy as np
import pytest

from configs import char_lm as char_lm_config
from tests.smoke_runs import trained


@pytest.mark.slow
def test_smoke_run_reports_bits_per_char_and_renders_samples():
  result = trained('char_lm')  # the session's run, from its command line
  workdir = result.workdir
  out = result.stdout + result.stderr
  assert 'examples/s' in out and 'ETA' in out  # progress is shown
  rows = [json.loads(line) for line in open(workdir / 'metrics.jsonl')]
  tests = [r for r in rows if r['split'] == 'test']
  assert [r['step'] for r in tests] == [4, 8]
  last = tests[-1]
  # 156 windows of 32 held-out characters; a model that learnt anything beats uniform.
  assert last['windows'] == 156 and 0 < last['bits_per_char_se'] < 0.1
  assert last['bits_per_char'] < np.log2(28)
  assert abs(last['nats_per_char'] - last['bits_per_char'] * np.log(2)) < 1e-6
  c = char_lm_config.get_config('smoke')
  samples = open(workdir / 'figures' / 'samples.txt', encoding='utf-8').read()
  assert os.path.getsize(workdir / 'figures' / 'samples.png') > 1000  # the same, drawn
  for prompt in c.eval.prompts:
    assert samples.count(f'⟦{prompt}⟧') == len(c.eval.temperatures)
  artifacts = sorted(os.listdir(workdir / 'artifacts'))
  with np.load(workdir / 'artifacts' / artifacts[-1]) as a:
    assert a['sample_text'].shape == (len(c.eval.temperatures), len(c.eval.prompts))
    assert all(len(s) == c.data.context for s in a['sample_text'].reshape(-1))
    assert np.all(a['sample_log_probs'] <= 0)
