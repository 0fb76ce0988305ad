"""Glow (Kingma & Dhariwal, 2018), a normalizing flow, on 8-bit images, handed to the one
training loop.

Each batch is dequantised with fresh uniform noise, y = (x + u) / 256, and Glow reads
y - 1/2 (a shift: the same density). The loss is the exact -log p(y) in bits/dim of the
8-bit data, (-log p(y) + D ln 256) / (D ln 2) (`genjax.objectives.glow`). ActNorm's
data-dependent init runs on the first batch (`init_params`). Evaluation reports the test
bits/dim (one noise draw per image, from the eval key) and its standard error over the
images. Artifacts: samples at each temperature, interpolations between test images'
latents, the largest |decode(encode(x)) - x| over test images (the inverse is exact, so
reconstructions are the identity to float precision), and the test image with the most
bits/dim and its number: the mean hides a model that gives a few images almost no density.

Inference (`genjax.load`): samples at `temperature` (1: the model itself); the likelihood in
nats, -log p(y) + D ln 256 for the dequantised y (one noise draw per image, from the key,
as the eval's bits/dim); `encode` (images -> Glow's latents, one array per level, finest
first, of the dequantised y) and `decode` (latents -> images), its exact inverse.

Training computes in config.compute_dtype: with 'bfloat16' the couplings' networks and the
split priors, while the flow, its log-determinants and the loss stay float32
(`genjax.models.glow_layers`); evaluation, sampling and the inverse are float32.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np

from genjax import config as config_lib
from genjax.data.image_data import image_data
from genjax.figures import glow as figures
from genjax.models import glow_layers as gl
from genjax.models.glow import Glow
from genjax.objectives import glow as objectives
from genjax.training.family import (Family, FamilyDef, Inference, Likelihood, Reporting,
                                    Training, model_signature)


def schema() -> ml_collections.ConfigDict:
  return config_lib.with_family_schema(
      model=dict(
          levels=2,  # squeeze-and-split levels: 28x28 -> 14x14 -> 7x7
          steps=8,  # steps of flow per level (Glow's K)
          hidden=64,  # coupling network width (Glow's 512)
          coupling='affine',  # 'affine' (Glow's --flow_coupling 1) or 'additive' (0)
          scale='tanh'),  # an affine coupling's bound: 'tanh' (log-scale) or 'sigmoid' (Glow's)
      eval_=dict(
          test_examples=0,  # 0: the whole test set
          num_samples=36,  # per temperature
          temperatures=(0.5, 0.7, 1.0),
          num_interpolations=6,  # pairs of test images
          interpolation_steps=8,
          reconstruction_examples=256))


def make_model(m, image_shape, dtype: str = 'float32') -> Glow:
  """The Glow that config section `m` describes (its `scale` as the schema sets it; a
  section saved before `coupling` existed is affine), its networks computing in `dtype`."""
  return Glow(image_shape=tuple(image_shape), levels=m.levels, steps=m.steps, hidden=m.hidden,
              scale=m.scale, coupling=m.get('coupling', 'affine'), dtype=dtype)


def to_glow_input(images01: jax.Array, rng: jax.Array) -> jax.Array:
  """Batch images k/255 in [0, 1] -> y - 1/2 for y = (k + u) / 256, u ~ U[0, 1)."""
  x_uint8 = jnp.round(images01 * 255.0)
  return objectives.dequantize(x_uint8, jax.random.uniform(rng, x_uint8.shape)) - 0.5


def check_config(config: ml_collections.ConfigDict) -> None:
  if config.data.binarize != 'none':
    raise config_lib.ConfigError('Glow models 8-bit pixels; set '
                                 '--config.data.binarize=none.')


def build(config: ml_collections.ConfigDict, info) -> Family:
  m, e = config.model, config.eval
  check_config(config)
  h, w = info.image_shape[:2]
  if h % 2**m.levels or w % 2**m.levels:
    raise config_lib.ConfigError(
        f'model.levels={m.levels} halves the sides {m.levels} times, but the images are '
        f'{h}x{w}; set --config.model.levels to at most the times both sides halve evenly.')
  model = make_model(m, info.image_shape)
  train_model = make_model(m, info.image_shape, config.compute_dtype)
  dims = math.prod(info.image_shape)

  def bits(params, batch, rng):
    return objectives.bits_per_dim(model.apply(params, to_glow_input(batch['image'], rng)),
                                   dims)

  def nll(params, batch, rng, context):
    """-log p(y) + D ln 256 in nats, y = (x + u) / 256 with u drawn from `rng`: the
    eval's bits/dim times D ln 2."""
    del context
    log_p_y = model.apply(params, to_glow_input(batch['image'], rng))
    return -log_p_y + dims * math.log(objectives.LEVELS)

  def init_params(rng, batch):
    data_rng, init_rng = jax.random.split(rng)
    return model.init(init_rng, to_glow_input(jnp.asarray(batch['image']), data_rng))

  def loss_fn(params, batch, rng, context):
    del context
    log_p_y = train_model.apply(params, to_glow_input(batch['image'], rng))
    b = objectives.bits_per_dim(log_p_y, dims)
    return jnp.mean(b), {'bits_per_dim': jnp.mean(b)}

  def eval_fn(params, batch, rng, context):
    del context
    return objectives.per_example_terms(bits(params, batch, rng))

  draw = jax.jit(lambda p, rng, n, t: model.apply(p, rng, n, t, method=Glow.sample),
                 static_argnums=2)
  encode = jax.jit(lambda p, x: model.apply(p, x, method=Glow.encode))
  decode = jax.jit(lambda p, z: model.apply(p, z, method=Glow.decode))
  to_image = lambda x: np.clip(np.asarray(x) + 0.5, 0.0, 1.0)  # y back in [0, 1]

  def sample(params, rng, num_samples, context, temperature=1.0):
    """Samples [n, H, W, C] in [0, 1] from latents drawn at `temperature` (their prior's
    standard deviations scaled by it; 1: the model itself)."""
    del context
    return to_image(draw(params, rng, num_samples, float(temperature)))

  def encode_images(params, batch, rng, context):
    """The latents of the dequantised images (noise from `rng`): a list, one array
    [B, h, w, c] per level, finest first (`Glow.latent_shapes`)."""
    del context
    return encode(params, to_glow_input(jnp.asarray(batch['image']), rng))

  def decode_latents(params, latents, context):
    """Latents as `encode` gives them -> images [B, H, W, C] in [0, 1]: the dequantised
    y that was encoded, to float precision."""
    del context
    return to_image(decode(params, [jnp.asarray(z) for z in latents]))

  inference = Inference(
      sample=sample, sample_options={'temperature': 1.0},
      likelihood=Likelihood(
          nll=nll, exact=True, dims=dims,
          description='-log p(y) + D ln 256 of the uniformly dequantised 8-bit image y = '
          '(x + u) / 256, one draw of u per image (the eval\'s bits/dim)'),
      encode=encode_images, decode=decode_latents)

  if info.test_images is None:  # built without the data (genjax.load): no figures
    num_test, artifacts_fn = e.test_examples, None
  else:
    test_uint8 = info.test_images.images
    num_test = min(e.test_examples or len(test_uint8), len(test_uint8))
    artifacts_fn = _artifacts(e, bits, draw, encode, decode, to_image, test_uint8, num_test)

  return Family(
      name='glow',
      # Runs saved before `coupling` existed are affine, and resume.
      signature={'model': model_signature(m, {'coupling': 'affine'}),
                 'image_shape': list(info.image_shape)},
      training=Training(init_params=init_params, loss_fn=loss_fn),
      reporting=Reporting(eval_fn=eval_fn,
                          eval_summary=lambda means: objectives.summary(means, num_test),
                          artifacts_fn=artifacts_fn, render_figures=figures.render_run,
                          eval_examples=e.test_examples),
      inference=inference,
  )


def _artifacts(e, bits, draw, encode, decode, to_image, test_uint8, num_test):
  """The figures' arrays: samples at each temperature, the reconstruction error and
  interpolations of test images, and the test image with the most bits/dim."""
  # Converted a slice at a time: a 64x64 colour test set is 1 GB as float32.
  test01 = lambda start, stop: test_uint8[start:stop].astype(np.float32) / 255.0
  bits_of_batch = jax.jit(lambda p, b, rng: bits(p, {'image': b}, rng))

  def artifacts_fn(params, rng, context):
    del context
    rngs = jax.random.split(rng, len(e.temperatures) + 1)
    out = {'temperatures': np.asarray(e.temperatures, np.float64),
           'samples': np.stack([to_image(draw(params, k, e.num_samples, float(t)))
                                for k, t in zip(rngs[1:], e.temperatures)])}
    x = to_glow_input(jnp.asarray(test01(0, e.reconstruction_examples)), rngs[0])
    out['reconstruction_max_abs_error'] = np.float64(
        np.abs(np.asarray(decode(params, encode(params, x))) - np.asarray(x)).max())
    pairs = x[:2 * e.num_interpolations]
    za = encode(params, pairs[0::2])
    zb = encode(params, pairs[1::2])
    weights = np.linspace(0.0, 1.0, e.interpolation_steps)
    rows = [to_image(decode(params, [(1 - w) * a + w * b for a, b in zip(za, zb)]))
            for w in weights]
    out['interpolations'] = np.stack(rows, axis=1)  # [pairs, steps, H, W, C]
    per_image = np.concatenate([
        np.asarray(bits_of_batch(params, jnp.asarray(test01(i, i + e.reconstruction_examples)),
                                 jax.random.fold_in(rngs[0], i)))
        for i in range(0, num_test, e.reconstruction_examples)])[:num_test]
    out['test_bits_per_dim_worst'] = np.float64(per_image.max())
    out['test_worst_image'] = np.int64(per_image.argmax())
    return out

  return artifacts_fn


RANGES = {
    'model.levels': 'positive',
    'model.steps': 'positive',
    'model.hidden': 'positive',
    'model.coupling': gl.COUPLINGS,
    'model.scale': gl.SCALES,
    'eval.num_samples': 'positive',
    'eval.temperatures': 'positive_each',
    'eval.num_interpolations': 'positive',
    'eval.interpolation_steps': 'positive',
    'eval.reconstruction_examples': 'positive',
}

FAMILY = FamilyDef(name='glow', schema=schema, build=build, data=image_data, ranges=RANGES,
                   compute_dtypes=config_lib.COMPUTE_DTYPES)
