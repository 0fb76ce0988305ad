"""compute_dtype: bfloat16 activations and matmul inputs in the train step, float32 params,
gradients, optimiser state and losses; a bfloat16 smoke run ends near the float32 one; a
family that does not honour it refuses it in one line."""

from __future__ import annotations

import json

import jax
import jax.extend
import jax.numpy as jnp
import numpy as np
import pytest

from configs import diffusion as diffusion_config
from configs import vae as vae_config
from genjax import config as config_lib
from genjax.families import diffusion as diffusion_family
from genjax.families import gmm as gmm_family
from genjax.families import vae as vae_family
from genjax.training.family import StepContext
from genjax.training.loop import train_and_evaluate
from tests.families.run_config import unlocked

FAMILIES = {'vae': (vae_family, vae_config), 'diffusion': (diffusion_family, diffusion_config)}
# Operations whose inputs are the model's matmuls and convolutions.
PRODUCTS = ('dot_general', 'conv_general_dilated')


def _family_and_batch(name, dtype, digits_info, **fields):
  module, config_module = FAMILIES[name]
  config = unlocked(config_module, 'smoke', compute_dtype=dtype, **fields)
  family = module.build(config, digits_info)
  images = digits_info.test_images.images[:8]
  batch = {'image': (images / 255.0).astype(np.float32) if name == 'diffusion'
                    else (images > 127).astype(np.float32),
           'label': digits_info.test_images.labels[:8].astype(np.int32)}
  params = family.training.init_params(jax.random.PRNGKey(0), batch)
  return family, params, batch


def _loss_and_grads(family, params, batch):
  fn = lambda p: family.training.loss_fn(p, batch, jax.random.PRNGKey(1), StepContext())[0]
  return jax.value_and_grad(fn)(params)


def _product_input_dtypes(fn, *args):
  """The dtypes of the inputs of every matmul and convolution in fn's jaxpr (nested ones
  too) between arrays of two or more axes: a product with a vector is a float32 sum over an
  event (`distributions._sum_event`), part of the loss, not of the model."""
  found = set()

  def visit(jaxpr):
    for eqn in jaxpr.eqns:
      if eqn.primitive.name in PRODUCTS and min(v.aval.ndim for v in eqn.invars) >= 2:
        found.update(str(v.aval.dtype) for v in eqn.invars)
      for sub in jax.extend.core.jaxprs_in_params(eqn.params):
        visit(sub)

  visit(jax.make_jaxpr(fn)(*args).jaxpr)
  return found


@pytest.mark.slow
@pytest.mark.parametrize('name', FAMILIES)
def test_bfloat16_step_multiplies_in_bfloat16_and_keeps_float32_params(name, digits_info):
  family, params, batch = _family_and_batch(name, 'bfloat16', digits_info)
  loss, grads = _loss_and_grads(family, params, batch)
  assert loss.dtype == jnp.float32 and np.isfinite(float(loss))
  assert {g.dtype for g in jax.tree.leaves(grads)} == {jnp.dtype('float32')}
  assert {p.dtype for p in jax.tree.leaves(params)} == {jnp.dtype('float32')}
  # Forward and backward: every product's inputs are bfloat16.
  assert _product_input_dtypes(lambda p: _loss_and_grads(family, p, batch), params) == {
      'bfloat16'}
  # The float32 family is untouched by the option.
  family32, _, _ = _family_and_batch(name, 'float32', digits_info)
  assert _product_input_dtypes(lambda p: _loss_and_grads(family32, p, batch), params) == {
      'float32'}


@pytest.mark.slow
@pytest.mark.parametrize('name', FAMILIES)
def test_bfloat16_loss_and_gradient_are_close_to_float32(name, digits_info):
  f32, params, batch = _family_and_batch(name, 'float32', digits_info)
  b16, _, _ = _family_and_batch(name, 'bfloat16', digits_info)
  loss32, grads32 = _loss_and_grads(f32, params, batch)
  loss16, grads16 = _loss_and_grads(b16, params, batch)
  # bfloat16 keeps 8 bits of mantissa (relative rounding 2^-9 = 0.2%) per operation.
  np.testing.assert_allclose(float(loss16), float(loss32), rtol=0.02)
  flat32 = np.concatenate([np.ravel(g) for g in jax.tree.leaves(grads32)])
  flat16 = np.concatenate([np.ravel(g) for g in jax.tree.leaves(grads16)])
  cosine = flat16 @ flat32 / (np.linalg.norm(flat16) * np.linalg.norm(flat32))
  assert cosine > 0.99


@pytest.mark.slow
def test_bfloat16_smoke_run_ends_within_tolerance_of_float32(tmp_path):
  """The VAE smoke run, trained through the loop in each dtype from the same seed: its
  final test bound (evaluated in float32) and last training loss agree to 2%."""
  finals, last_losses = {}, {}
  for dtype in ('float32', 'bfloat16'):
    config = unlocked(vae_config, 'smoke', compute_dtype=dtype)
    workdir = tmp_path / dtype
    finals[dtype] = train_and_evaluate(vae_family.FAMILY, config, str(workdir))
    rows = [json.loads(line) for line in open(workdir / 'metrics.jsonl')]
    last_losses[dtype] = [r['loss'] for r in rows if r.get('split') == 'train' and 'loss' in r][-1]
  key = next(k for k in finals['float32'] if 'elbo' in k or 'loss' in k)
  np.testing.assert_allclose(finals['bfloat16'][key], finals['float32'][key], rtol=0.02)
  np.testing.assert_allclose(last_losses['bfloat16'], last_losses['float32'], rtol=0.02)


def test_a_family_that_computes_in_float32_only_refuses_bfloat16(tmp_path):
  from configs import gmm as gmm_config  # pylint: disable=g-import-not-at-top
  config = unlocked(gmm_config, 'smoke', compute_dtype='bfloat16')
  with pytest.raises(config_lib.ConfigError, match="'gmm' family computes in float32 only"):
    train_and_evaluate(gmm_family.FAMILY, config, str(tmp_path))
  config.compute_dtype = 'float16'
  with pytest.raises(config_lib.ConfigError, match='compute_dtype'):
    train_and_evaluate(gmm_family.FAMILY, config, str(tmp_path))
