"""Images from a DCGAN generator's params, for the GAN family's figures and scores and for
the tools that read a trained GAN run."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from genjax.models import dcgan

SAMPLE_BATCH = 500  # latents a compiled generator call maps at once


class Sampler:
  """Images in [0, 1] from a generator's params: compiled once, BatchNorm statistics
  measured for averaged weights, running statistics at sampling."""

  def __init__(self, gan: dcgan.DCGANNetworks, calibration_samples: int, calibrate: bool):
    self.gan, self.calibration_samples, self._calibrate = gan, calibration_samples, calibrate
    g = gan.generator
    self._apply = jax.jit(lambda p, s, z, y: (g.apply({'params': p, 'batch_stats': s}, z, y,
                                                       train=False) + 1.0) / 2.0)
    self._measure = jax.jit(lambda p, z, y: dcgan.calibrate(g, p, z, y))

  def statistics(self, g_params, g_stats, rng):
    if not self._calibrate:
      return g_stats
    n = self.calibration_samples
    z = self.gan.latents(rng, n)
    y = (jnp.arange(n) % self.gan.num_classes) if self.gan.num_classes else None
    return self._measure(g_params, z, y)

  def __call__(self, g_params, g_stats, z, y=None) -> np.ndarray:
    out = [np.asarray(self._apply(g_params, g_stats, z[i:i + SAMPLE_BATCH],
                                  None if y is None else y[i:i + SAMPLE_BATCH]))
           for i in range(0, len(z), SAMPLE_BATCH)]
    return np.concatenate(out)
