"""Every family's smoke run, trained from its command line (tests/smoke_runs.py: the run
the other tests read), is a model `genjax.load` can use: it samples as a function of the
key, scores its test batches as its `Likelihood` says (log_prob where exact, bound where a
bound, the other refused), and its export loads without Orbax to the same samples and
scores."""

import functools
import os

import jax
import numpy as np
import pytest

import genjax
from genjax.trained import export
from genjax.trained.model import UnsupportedError
from tests.conftest import REPO
from tests.smoke_runs import over_shared_vqvae, scored_ddpm, scored_gan, trained

FAMILIES = sorted(f[:-3] for f in os.listdir(os.path.join(REPO, 'genjax', 'families'))
                  if f.endswith('.py') and not f.startswith('_'))
SECOND_STAGES = ('code_prior', 'var')  # their smoke runs train their stage 1 first
# The runs other tests read with flags (that score their samples, or name the session's
# stage 1): each trained once.
SHARED = {'gan': scored_gan, 'diffusion': scored_ddpm,
          **{name: functools.partial(over_shared_vqvae, name)
             for name in ('latent_diffusion', 'maskgit')}}
# The VQ-VAE's smoke run is the one the code prior's smoke run trains first, as
# `python -m experiments.vqvae --config=configs/vqvae.py:smoke` trains it
# (genjax.launch.experiment): the same run, trained once.
STAGE1_OF = {'vqvae': 'code_prior'}


def _first_batch(model, n=8):
  return next(model.batches('test', batch_size=n))


def test_every_family_module_is_listed():
  assert {'vae', 'gan', 'glow', 'diffusion', 'char_lm', 'word2vec', 'var'} <= set(FAMILIES)


@pytest.mark.slow
@pytest.mark.parametrize('name', FAMILIES)
def test_a_smoke_run_loads_samples_scores_and_round_trips_its_export(name, tmp_path):
  run = SHARED[name]() if name in SHARED else trained(STAGE1_OF.get(name, name))
  workdir = str(run.workdir / 'stage1' if name in STAGE1_OF else run.workdir)
  model = genjax.load(workdir)
  assert model.family == name and model.finished
  inference = model.inference

  samples = None
  if inference.sample is not None:
    samples = model.sample(1, 3)
    assert len(samples) == 3
    if samples.dtype.kind == 'f':
      assert np.all(np.isfinite(samples)) and 0.0 <= samples.min() <= samples.max() <= 1.0
    np.testing.assert_array_equal(model.sample(jax.random.PRNGKey(1), 3), samples)
    assert not np.array_equal(model.sample(2, 3), samples)
  else:
    with pytest.raises(UnsupportedError, match=f'A {name} model draws no samples'):
      model.sample(0, 1)

  scores = None
  likelihood = inference.likelihood
  if likelihood is not None:
    batch = _first_batch(model)
    method, other = ((model.log_prob, model.bound) if likelihood.exact
                     else (model.bound, model.log_prob))
    scores = method(batch)
    assert scores.exact == likelihood.exact and scores.log_p.shape == (len(batch[
        next(iter(batch))]),)
    assert np.all(np.isfinite(scores.log_p)) and np.all(scores.bits_per_dim > 0)
    with pytest.raises(UnsupportedError, match='call (bound|log_prob)'):
      other(batch)
    summary = model.score(max_examples=16, batch_size=8)
    assert summary['examples'] == 16 and summary['kind'] == scores.kind
    assert np.isfinite(summary['nll_nats']) and summary['nll_nats_se'] >= 0

  encoded = None
  if inference.encode is not None:
    encoded = model.encode(_first_batch(model))
    if inference.decode is not None:
      decoded = model.decode(encoded['mean'] if isinstance(encoded, dict) and 'mean' in encoded
                             else encoded)
      assert np.all(np.isfinite(decoded))

  out = str(tmp_path / 'export')
  written = export(workdir, out)
  assert 'params.safetensors' in written
  if name in SECOND_STAGES:
    assert 'upstream/params.safetensors' in written
  shared = genjax.load(out)
  assert (shared.family, shared.step, shared.finished) == (name, model.step, True)
  if samples is not None:
    np.testing.assert_array_equal(shared.sample(1, 3), samples)
  if scores is not None:
    again = (shared.log_prob if likelihood.exact else shared.bound)(_first_batch(shared))
    np.testing.assert_allclose(again.log_p, scores.log_p, rtol=1e-5, atol=1e-5)
  if encoded is not None:
    jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6),
                 shared.encode(_first_batch(shared)), encoded)
  run.assert_unchanged()  # loading, scoring and exporting only read the run
