"""Glow's multi-scale normalizing flow (Kingma & Dhariwal, 2018), exact log p(x) and its inverse.

For each of `levels` levels: squeeze (2x2 blocks to channels), `steps` steps of flow
(ActNorm, invertible 1x1 convolution, and an affine coupling with a bounded `scale`, Glow's
sigmoid or a tanh log-scale, or an additive one; `genjax.models.glow_layers`), then,
below the top, factor out half the channels under a learned conditional Gaussian given the
other half (Glow's `split2d`: a zero-initialised 3x3 conv, so it starts as N(0, I)). The
top latent has a learned Gaussian too. A 28x28x1 image with 2 levels: 14x14x4, split to
14x14x2 out and 14x14x2 kept, squeezed to 7x7x8 at the top. A 32x32x3 image with Glow's
3 levels: 16x16x12 (6 out), 8x8x24 (12 out), 4x4x48 at the top.

Calling the module gives the exact log p(x): the base log-densities of every factored-out and top latent plus
the steps' log-determinants. `encode` gives the latents (a list, finest first) and
`decode` inverts them exactly; `sample` draws latents at a temperature T (each Gaussian's
scale times T) and decodes them.

`dtype` 'bfloat16' computes the couplings' networks and the split priors' convolutions in
bfloat16; the flow, the log-determinants, the base log-densities and so log p(x) stay
float32 (`genjax.models.glow_layers`).
"""

from __future__ import annotations

import math

import flax.linen as nn
import jax
import jax.numpy as jnp

from genjax.models import glow_layers as gl
from genjax.models.conv import Conv


def gaussian_log_prob(z: jax.Array, mean: jax.Array, log_std: jax.Array) -> jax.Array:
  """log N(z; mean, exp(log_std)^2) summed per example."""
  per = (-0.5 * jnp.square((z - mean) * jnp.exp(-log_std)) - log_std
         - 0.5 * math.log(2 * math.pi))
  return jnp.sum(per.reshape(z.shape[0], -1), axis=-1)


class SplitPrior(nn.Module):
  """The kept half -> (mean, log_std) of the factored-out half, zero-initialised; the conv
  computes in `dtype`, the mean and log_std are float32."""
  channels: int
  dtype: str = 'float32'

  @nn.compact
  def __call__(self, kept: jax.Array):
    h = Conv(2 * self.channels, (3, 3), kernel_init=nn.initializers.zeros,
             bias_init=nn.initializers.zeros)(kept.astype(self.dtype)).astype(jnp.float32)
    return h[..., 0::2], h[..., 1::2]


class Glow(nn.Module):
  image_shape: tuple[int, ...] = (28, 28, 1)
  levels: int = 2
  steps: int = 8
  hidden: int = 64
  scale: str = 'sigmoid'  # the couplings' bounded scale (`glow_layers.SCALES`)
  coupling: str = 'affine'  # `glow_layers.COUPLINGS`
  dtype: str = 'float32'  # the coupling networks' and split priors' computation

  def setup(self):
    h, w, _ = self.image_shape
    if h % 2**self.levels or w % 2**self.levels:
      raise ValueError(f'{self.levels} levels halve the sides {self.levels} times: '
                       f'{self.image_shape} does not divide; change model.levels.')
    self.level_steps = [[gl.GlowStep(self.hidden, self.scale, self.coupling, self.dtype,
                                     name=f'level{i}_step{k}')
                         for k in range(self.steps)] for i in range(self.levels)]
    self.split_priors = [SplitPrior(shape[-1], self.dtype, name=f'split_prior{i}')
                         for i, shape in enumerate(self.latent_shapes[:-1])]
    top = self.latent_shapes[-1]
    self.top_mean = self.param('top_mean', nn.initializers.zeros, top)
    self.top_log_std = self.param('top_log_std', nn.initializers.zeros, top)

  @property
  def latent_shapes(self) -> list[tuple[int, int, int]]:
    """One image's latents, finest first: each factored-out half, then the top."""
    h, w, c = self.image_shape
    shapes = []
    for i in range(self.levels):
      h, w, c = h // 2, w // 2, 4 * c
      if i < self.levels - 1:
        shapes.append((h, w, c // 2))
        c = c // 2
    return shapes + [(h, w, c)]

  def forward(self, x):
    """x -> (latents, their base log-density, the steps' log-determinant), per example."""
    logdet = jnp.zeros(x.shape[:1], x.dtype)
    log_base = jnp.zeros(x.shape[:1], x.dtype)
    latents = []
    for i in range(self.levels):
      x = gl.squeeze(x)
      for step in self.level_steps[i]:
        x, ld = step(x)
        logdet = logdet + ld
      if i < self.levels - 1:
        c = x.shape[-1] // 2
        kept, out = x[..., :c], x[..., c:]
        log_base = log_base + gaussian_log_prob(out, *self.split_priors[i](kept))
        latents.append(out)
        x = kept
    log_base = log_base + gaussian_log_prob(x, self.top_mean[None], self.top_log_std[None])
    return latents + [x], log_base, logdet

  def __call__(self, x: jax.Array) -> jax.Array:
    """Exact log p(x) per example [B] for images x [B, H, W, C] (any real values)."""
    _, log_base, logdet = self.forward(x)
    return log_base + logdet

  def encode(self, x: jax.Array) -> list[jax.Array]:
    return self.forward(x)[0]

  def decode(self, latents: list[jax.Array]) -> jax.Array:
    x = latents[-1]
    for i in reversed(range(self.levels)):
      if i < self.levels - 1:
        x = jnp.concatenate([x, latents[i]], axis=-1)
      for step in reversed(self.level_steps[i]):
        x, _ = step(x, reverse=True)
      x = gl.unsqueeze(x)
    return x

  def sample(self, rng: jax.Array, num: int, temperature: float = 1.0) -> jax.Array:
    """Images [num, H, W, C] from latents drawn at `temperature`."""
    keys = jax.random.split(rng, self.levels)
    top = self.latent_shapes[-1]
    x = self.top_mean[None] + temperature * jnp.exp(self.top_log_std[None]) * \
        jax.random.normal(keys[-1], (num,) + top)
    for i in reversed(range(self.levels)):
      if i < self.levels - 1:
        mean, log_std = self.split_priors[i](x)
        out = mean + temperature * jnp.exp(log_std) * jax.random.normal(keys[i], mean.shape)
        x = jnp.concatenate([x, out], axis=-1)
      for step in reversed(self.level_steps[i]):
        x, _ = step(x, reverse=True)
      x = gl.unsqueeze(x)
    return x
