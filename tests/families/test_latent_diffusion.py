"""Latent diffusion over a frozen first stage: the scale factor whitens the latents, the
first stage stays frozen, a first stage it cannot read is refused in one line, and the
smoke run (over the session's VQ-VAE smoke run) trains, lowers its
loss and samples images; over a VAE (built, not trained) the pixel bound adds up and is
what `genjax.load` scores. The bounds' math is in tests/objectives/test_latent_diffusion.py."""

import json
import math
import os
import shutil

import jax
import jax.monitoring
import jax.numpy as jnp
import numpy as np
import pytest

import genjax
from configs import latent_diffusion as config_module
from genjax.errors import UserError
from genjax.families import latent_diffusion
from genjax.stage2.latents import load_latent_stage1, scale_by_std
from genjax.training import restore
from genjax.training.family import StepContext
from tests.families.run_config import unlocked
from tests.smoke_runs import over_shared_vqvae, shared_vqvae, trained


@pytest.fixture(scope='module')
def smoke():
  """configs/latent_diffusion.py:smoke from its command line: the session's run (the one
  test_smoke.py checks), over the session's VQ-VAE smoke run."""
  return over_shared_vqvae('latent_diffusion')


def _rows(workdir, split):
  with open(os.path.join(workdir, 'metrics.jsonl')) as f:
    return [r for r in map(json.loads, f) if r['split'] == split]


def test_the_scale_factor_gives_latents_of_unit_std():
  z = 0.3 + 0.07 * jax.random.normal(jax.random.PRNGKey(0), (32, 2, 2, 8))
  np.testing.assert_allclose(jnp.std(scale_by_std(z) * z), 1.0, rtol=1e-5)


# A first stage it cannot read.

@pytest.fixture
def _no_compilation():
  compiled = []
  listener = lambda event, duration, **kw: compiled.append(event) if 'compile' in event else 0
  jax.monitoring.register_event_duration_secs_listener(listener)
  yield
  jax.monitoring.unregister_event_duration_listener(listener)
  assert not compiled, compiled


def _refusal(workdir, *variants) -> str:
  config = unlocked(config_module, ','.join(('smoke',) + variants),
                    data=dict(stage1_workdir=str(workdir)))
  with pytest.raises(UserError) as raised:
    latent_diffusion.FAMILY.data(config, 0, 1)
  message = str(raised.value)
  assert '\n' not in message
  return message


def test_a_first_stage_of_another_family_or_unfinished_is_refused_in_one_line(
    smoke, tmp_path, _no_compilation):
  other = tmp_path / 'diffusion'
  other.mkdir()
  (other / 'config.json').write_text(json.dumps({'family': 'diffusion'}))
  assert "holds a 'diffusion' run; latent diffusion reads a VAE or a VQ-VAE" in _refusal(other)
  stage1 = shared_vqvae()
  assert "set --config.data.stage1_family=vqvae" in _refusal(stage1, 'vae')
  unfinished = tmp_path / 'unfinished'
  shutil.copytree(stage1, unfinished)
  os.remove(unfinished / 'final_metrics.json')  # as a run killed after its last checkpoint
  assert 'is unfinished (latest checkpoint at step 8' in _refusal(unfinished)
  assert 'holds no genjax run' in _refusal(tmp_path / 'nothing')


# The smoke run over a VQ-VAE.

def test_the_smoke_run_trains_over_its_frozen_vqvae_and_samples_images(smoke):
  workdir = smoke.workdir
  train, test = _rows(workdir, 'train'), _rows(workdir, 'test')
  assert test[-1]['loss'] < test[0]['loss'] and train[-1]['loss'] < train[0]['loss']
  for row in train:  # the scaled latents of every batch, not only the first
    assert 0.8 < row['latent_std'] < 1.2
  model = genjax.load(str(workdir))
  assert model.inference.likelihood is None  # a deterministic encoder: no bound
  samples = model.sample(1, 3)
  assert samples.shape == (3, 8, 8, 1) and 0.0 <= samples.min() <= samples.max() <= 1.0
  # The first stage is frozen: what the model decodes with is the stage-1 checkpoint, bit
  # for bit, and the run's own params are the denoiser's alone.
  stage1 = restore.load_run(str(shared_vqvae()))
  jax.tree.map(np.testing.assert_array_equal, jax.device_get(model.context.frozen),
               {'params': stage1.eval_params, 'model_state': stage1.model_state})
  run = restore.load_run(str(workdir))
  assert run.upstream['step'] == stage1.step == 8
  assert set(run.model_state) == {'scale_factor'}
  assert 'ResBlock_0' in run.params['params'] and 'encoder' not in str(run.params.keys())
  # The scale factor the run saved whitens the test images' latents too.
  batch = next(model.batches('test', batch_size=96))
  scaled = model.encode(batch)
  assert 0.8 < float(np.std(scaled)) < 1.2
  smoke.assert_unchanged()


# Over a VAE: the bound on -log p(x).

def test_over_a_vae_the_frozen_stage1_gets_no_gradient_and_the_pixel_bound_adds_up():
  """Built (not trained) over the VAE's smoke run: an MLP prior over its 20-d posterior
  samples, scaled by the first batch's std; no gradient reaches the VAE; the bound the
  eval reports is its terms' sum and the one `genjax.load` scores; samples are images."""
  vae_run = trained('vae')
  config = unlocked(config_module, 'smoke,vae', data=dict(stage1_workdir=str(vae_run.workdir)))
  data = latent_diffusion.FAMILY.data(config, 0, 1)
  family = latent_diffusion.FAMILY.build(config, data.info)
  training, batch = family.training, data.train.batch(0)
  params = training.init_params(jax.random.PRNGKey(0), batch)
  assert 'ResidualDenseBlock_0' in params['params']
  state = training.init_model_state(jax.random.PRNGKey(1), batch, params)
  # scale_by_std: the same posterior sample of the first batch, times s, has std 1.
  stage1 = load_latent_stage1(str(vae_run.workdir), 'vae')
  z = stage1.encode(stage1.frozen, jnp.asarray(batch['image']), jax.random.PRNGKey(1))
  assert z.shape == (32, 20)
  np.testing.assert_allclose(state['scale_factor'] * jnp.std(z), 1.0, rtol=1e-5)
  loss = lambda p, f: training.loss_fn(p, batch, jax.random.PRNGKey(2),
                                       StepContext(state, f))[0]
  to_params, to_frozen = jax.jit(jax.grad(loss, argnums=(0, 1)))(params, training.frozen)
  assert jax.tree.leaves(to_frozen) and not any(np.any(g) for g in jax.tree.leaves(to_frozen))
  assert any(np.any(g) for g in jax.tree.leaves(to_params))

  test = next(iter(data.splits['test'](16, 0, 1, 16)))
  test.pop('mask')
  key = jax.random.PRNGKey(3)
  with_context = lambda fn, **options: jax.jit(
      lambda p, b, s, f: fn(p, b, key, StepContext(s, f), **options))
  terms = with_context(family.reporting.eval_fn)(params, test, state, training.frozen)
  np.testing.assert_allclose(  # bits per pixel of 8x8 images
      terms['bpd'], (terms['recon_nll'] + terms['latent_nll'] - terms['posterior_entropy'])
      / (64 * math.log(2)), rtol=1e-5)
  assert np.all(np.isfinite(terms['bpd'])) and np.all(terms['vae_elbo_bpd'] > 0)
  # The likelihood's bound is the eval's, from the same key and the same 2 terms.
  nll = family.inference.likelihood.nll
  key = jax.random.split(key, 3)[2]  # the eval's key for its bound
  np.testing.assert_allclose(with_context(nll, timesteps=2)(params, test, state,
                                                            training.frozen),
                             terms['bound_nats'], rtol=1e-5)
  samples = family.inference.sample(params, jax.random.PRNGKey(4), 4,
                                    StepContext(state, training.frozen))
  assert samples.shape == (4, 8, 8, 1) and 0.0 <= samples.min() <= samples.max() <= 1.0
  vae_run.assert_unchanged()  # the first stage was only read
