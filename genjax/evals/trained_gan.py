"""A trained GAN's generator, read back through the one reader of saved runs."""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np

from genjax import commands
from genjax.models import dcgan
from genjax.samplers.gan import Sampler
from genjax.training import restore

CALIBRATION_SAMPLES = 2048


@dataclasses.dataclass(frozen=True)
class TrainedGAN:
  config: ml_collections.ConfigDict
  gan: dcgan.DCGANNetworks
  generator_params: object  # EMA weights when the run kept them
  generator_stats: object  # BatchNorm statistics that go with those weights
  step: int
  sampler: Sampler

  def sample(self, num: int, seed: int = 0) -> np.ndarray:
    """`num` images [num, H, W, C] in [0, 1]; a conditional generator cycles the classes."""
    z = self.gan.latents(jax.random.PRNGKey(seed), num)
    y = (jnp.arange(num) % self.gan.num_classes) if self.gan.num_classes else None
    return self.sampler(self.generator_params, self.generator_stats, z, y)


def load(workdir: str) -> TrainedGAN:
  """The latest checkpoint of the GAN run in `workdir`; refuses, naming the remedy, a
  workdir that holds no GAN run or no checkpoint yet."""
  run = restore.load_run(workdir, family='gan', train_command=commands.GAN)
  averaged = run.ema_params is not None
  gan = dcgan.make_dcgan(run.signature)
  sampler = Sampler(gan, CALIBRATION_SAMPLES, calibrate=averaged)
  params = run.eval_params['generator']
  stats = sampler.statistics(params, run.model_state['generator'], jax.random.PRNGKey(1))
  return TrainedGAN(config=run.config, gan=gan, generator_params=params,
                    generator_stats=stats, step=run.step, sampler=sampler)
