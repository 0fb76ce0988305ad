"""`load_run` reads any run back without rebuilding an optimiser: a VAE's decoder here
(a GAN's generator in test_protocol.py), and refuses what is not a run of the family."""

import os

import jax
import jax.numpy as jnp
import numpy as np
import orbax.checkpoint as ocp
import pytest

from genjax.families import vae as vae_family
from genjax.models.vae import VAE
from genjax.samplers import vae as vae_samplers
from genjax.training.loop import train_and_evaluate
from genjax.training.restore import load_run


@pytest.fixture(scope='module')
def vae_run(tmp_path_factory):
  from configs import vae  # pylint: disable=g-import-not-at-top
  config = vae.get_config('smoke')
  config.unlock()
  config.total_steps, config.eval.train_examples = 4, 0
  workdir = str(tmp_path_factory.mktemp('vae'))
  train_and_evaluate(vae_family.FAMILY, config, workdir)
  return workdir


def test_a_vae_run_reads_back_as_its_checkpoint_and_its_decoder_decodes(vae_run):
  run = load_run(vae_run, family='vae')
  assert run.step == 4 and run.signature['family'] == 'vae' and run.ema_params is None
  assert run.model_state is None and run.upstream is None
  saved = ocp.StandardCheckpointer().restore(os.path.join(vae_run, 'checkpoints', '4', 'state'))
  jax.tree.map(np.testing.assert_array_equal, run.params, jax.device_get(saved['params']))
  m = run.signature['model']
  model = VAE(image_shape=tuple(run.signature['image_shape']), latent_dim=m['latent_dim'],
              hidden=tuple(m['hidden']), activation=m['activation'],
              architecture=m['architecture'], conv_channels=tuple(m['conv_channels']),
              likelihood=m['likelihood'])
  z = jax.random.normal(jax.random.PRNGKey(0), (5, m['latent_dim']))
  means = vae_samplers.decoder_mean(model.apply(run.eval_params, z, None, method=VAE.decode))
  assert means.shape == (5, 8, 8, 1) and jnp.all((means >= 0) & (means <= 1))


def test_refusals_name_the_remedy(vae_run, tmp_path):
  with pytest.raises(ValueError, match="holds a 'vae' run, not a diffusion run.*train one"):
    load_run(vae_run, family='diffusion', train_command='python -m experiments.diffusion')
  with pytest.raises(FileNotFoundError, match='no genjax run'):
    load_run(str(tmp_path))
  (tmp_path / 'config.json').write_text('{"family": "vae"}')
  with pytest.raises(FileNotFoundError, match='No checkpoint'):
    load_run(str(tmp_path))
