"""A trained first stage as latent diffusion sees it: continuous latents in, images out.

`load_latent_stage1(workdir, family)` reads a finished VAE or VQ-VAE run with
`genjax.training.restore.load_run` and refuses, in one line naming the remedy, a missing
run, a run of another family (or of the other one than `family`), an unfinished run and a
class-conditional VAE, before anything compiles. What it returns encodes images to the
latents a diffusion model is trained on, and decodes latents to images in [0, 1]:

- VAE: z ~ q(z | x), one reparameterised sample of the posterior (as Rombach et al., 2022,
  train on posterior samples; the likelihood bound is an expectation over q, so the prior
  must model q's samples, not its means), a vector [latent_dim]; decoded to the decoder's
  mean (Bernoulli probabilities or Gaussian means).
- VQ-VAE: the encoder's output z_e before the codebook, a grid [h, w * G, D]; decoded as
  Rombach et al.'s VQ models decode: quantised to the nearest codes first, then the
  decoder's mean.

Both take the frozen params as an argument (`frozen`), so a second stage's compiled step
reads them as a jit argument, never as constants. `latent_diffusion_data` gives the images
the run was trained on, read as its own config reads them.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import jax
import jax.numpy as jnp
import ml_collections

from genjax import commands
from genjax.data.family_data import Data
from genjax.data.image_data import image_data
from genjax.distributions import DiagGaussian
from genjax.errors import UserError
from genjax.models import vae as vae_models
from genjax.objectives.vqvae import VQObjective, decoder_mean01, objective_from_signature
from genjax.stage2.first_stage import UnfinishedRunError, check_stage1_data
from genjax.training import restore

FAMILIES = ('vqvae', 'vae')
_TRAIN_COMMANDS = {
    'vqvae': commands.VQVAE,
    'vae': 'python -m experiments.vae --config=configs/vae.py:cpu --workdir=runs/vae'}


@dataclasses.dataclass(frozen=True)
class LatentStage1:
  """A finished VAE or VQ-VAE run and the network that rebuilds it."""
  run: restore.SavedRun
  family: str
  network: Any  # the VAE module, or the VQ-VAE's objective

  @property
  def frozen(self):
    """What a second stage's compiled step reads and never updates."""
    return {'params': self.run.eval_params, 'model_state': self.run.model_state}

  @property
  def image_shape(self) -> tuple[int, ...]:
    return tuple(self.run.signature['image_shape'])

  @property
  def latent_shape(self) -> tuple[int, ...]:
    """One image's latent: (latent_dim,) for a VAE, (h, w * G, D) for a VQ-VAE."""
    if self.family == 'vae':
      return (self.network.latent_dim,)
    h, w = self.network.model.code_shape
    return h, w, self.network.model.code_dim

  def posterior(self, frozen, images: jax.Array) -> DiagGaussian:
    """A VAE's q(z | x) of images as its data stream gives them."""
    return self.network.apply(frozen['params'], images, method=vae_models.VAE.encode)

  def encode(self, frozen, images: jax.Array, rng: jax.Array) -> jax.Array:
    """Images [B, H, W, C] in [0, 1] -> latents [B, *latent_shape] (see the module doc)."""
    if self.family == 'vae':
      return self.posterior(frozen, images).sample(rng)
    return self.network.encode(frozen['params']['net'], images)

  def decode(self, frozen, latents: jax.Array) -> jax.Array:
    """Latents [B, *latent_shape] -> the decoder's mean images [B, H, W, C] in [0, 1]."""
    if self.family == 'vae':
      p_x = self.network.apply(frozen['params'], latents, method=vae_models.VAE.decode)
      return vae_models.decoder_mean(p_x)
    vq: VQObjective = self.network
    net = frozen['params']['net']
    z_q = vq.quantize(net, vq.codebook_of(frozen['params'], frozen['model_state']),
                      latents).z_st
    return decoder_mean01(vq.likelihood, vq.decode(net, z_q)[0])

  def reconstruction_nll(self, frozen, images: jax.Array, latents: jax.Array) -> jax.Array:
    """A VAE's -log p(x | z) [B] in nats."""
    p_x = self.network.apply(frozen['params'], latents, method=vae_models.VAE.decode)
    return -p_x.log_prob(images)


def load_latent_stage1(workdir: str, family: str) -> LatentStage1:
  """The finished `family` ('vae' or 'vqvae') run in `workdir`; UserError in one line
  otherwise."""
  if not workdir:
    raise UserError(f'No stage-1 run named; pass --config.data.stage1_workdir=<a {family} '
                    f'workdir>, trained with {_TRAIN_COMMANDS[family]}')
  config = restore.read_run_config(workdir, '', _TRAIN_COMMANDS[family])
  if config.get('family') not in FAMILIES:
    raise UserError(f'{workdir} holds a {config.get("family")!r} run; latent diffusion reads '
                    'a VAE or a VQ-VAE run: point --config.data.stage1_workdir at one.')
  if config.family != family:
    raise UserError(f'{workdir} holds a {config.family!r} run, but data.stage1_family='
                    f'{family!r}; set --config.data.stage1_family={config.family} (or the '
                    f'variant {config.family}), or name a {family} run.')
  run = restore.load_run(workdir, family=family, train_command=_TRAIN_COMMANDS[family])
  if not run.finished:
    raise UnfinishedRunError(
        f'The stage-1 run in {run.workdir} is unfinished (latest checkpoint at step '
        f'{run.step}, no final metrics for it); finish it by running its training command '
        f'again with --workdir={workdir}, or point --config.data.stage1_workdir elsewhere.')
  if family == 'vqvae':
    return LatentStage1(run, family, objective_from_signature(run.signature))
  model = run.signature['model']
  if model.get('conditional'):
    raise UserError(f'The VAE in {run.workdir} is class-conditional (its encoder and decoder '
                    'read labels); train latent diffusion over an unconditional VAE, and use '
                    '--config.model.conditional=True here for a class-conditional prior.')
  return LatentStage1(run, family, vae_models.make_model(
      ml_collections.ConfigDict(dict(model)), run.signature['image_shape'], 0))


def scale_by_std(latents: jax.Array) -> jax.Array:
  """Rombach et al.'s (2022) scale_by_std: 1 / std of every element of a batch's latents,
  so that the scaled latents the diffusion model sees have unit variance."""
  return 1.0 / jnp.std(latents.astype(jnp.float32))


def latent_diffusion_data(config: ml_collections.ConfigDict, process_index: int = 0,
                          process_count: int = 1) -> Data:
  """The images the stage-1 run was trained on, as that run's data section reads them (its
  dataset, size and binarisation), in this config's batches: latent diffusion encodes
  them with the frozen stage 1 inside its step."""
  stage1 = load_latent_stage1(config.data.stage1_workdir, config.data.stage1_family)
  check_stage1_data(config.data, stage1)
  images = ml_collections.ConfigDict({'data': stage1.run.config.data.to_dict(),
                                      'batch_size': config.batch_size, 'seed': config.seed})
  return image_data(images, process_index, process_count)
