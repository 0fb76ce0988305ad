"""compute_dtype: bfloat16 activations and matmul inputs in the train step, float32 params,
gradients, optimiser state and losses; a bfloat16 smoke run ends near the float32 one; a
family that does not honour it refuses it in one line."""

from __future__ import annotations

import functools
import json
import types

import jax
import jax.extend
import jax.numpy as jnp
import numpy as np
import pytest

from configs import autoencoder as autoencoder_config
from configs import autoregressive as autoregressive_config
from configs import char_lm as char_lm_config
from configs import classifier as classifier_config
from configs import code_prior as code_prior_config
from configs import diffusion as diffusion_config
from configs import gan as gan_config
from configs import glow as glow_config
from configs import var as var_config
from configs import vae as vae_config
from configs import vqvae as vqvae_config
from genjax import config as config_lib
from genjax.data.family_data import DataInfo
from genjax.families import autoencoder as autoencoder_family
from genjax.families import autoregressive as autoregressive_family
from genjax.families import char_lm as char_lm_family
from genjax.families import classifier as classifier_family
from genjax.families import code_prior as code_prior_family
from genjax.families import diffusion as diffusion_family
from genjax.families import gan as gan_family
from genjax.families import glow as glow_family
from genjax.families import gmm as gmm_family
from genjax.families import var as var_family
from genjax.families import vae as vae_family
from genjax.families import vqvae as vqvae_family
from genjax.models import quantizer
from genjax.objectives import pixel_likelihoods
from genjax.objectives import vqvae as vq_objectives
from genjax.stage2.first_stage import Stage1
from genjax.training.family import StepContext
from genjax.training.loop import train_and_evaluate
from genjax.training.state import create_train_state
from tests.families.run_config import unlocked

# name -> (family module, config module, variant, data): the smoke configs, one step each.
# 'binary' pixels are binarised, 'grey' ones k/255; the stage-2 families read code grids,
# char_lm its smoke config's text.
FAMILIES = {
    'vae': (vae_family, vae_config, 'smoke', 'binary'),
    'diffusion': (diffusion_family, diffusion_config, 'smoke', 'grey'),  # shrunk: SMALLER
    'pixelcnn': (autoregressive_family, autoregressive_config, 'smoke', 'binary'),
    'gated_pixelcnn': (autoregressive_family, autoregressive_config, 'gated,smoke', 'binary'),
    'transformer': (autoregressive_family, autoregressive_config, 'transformer,smoke',
                    'binary'),
    'lstm': (autoregressive_family, autoregressive_config, 'lstm,smoke', 'binary'),
    'glow': (glow_family, glow_config, 'smoke', 'grey'),
    'vqvae': (vqvae_family, vqvae_config, 'smoke', 'grey'),
    'code_prior': (code_prior_family, code_prior_config, 'smoke', 'codes'),
    'var': (var_family, var_config, 'smoke', 'tokens'),
    'char_lm': (char_lm_family, char_lm_config, 'smoke', 'text'),
    'autoencoder': (autoencoder_family, autoencoder_config, 'smoke', 'grey'),
    'classifier': (classifier_family, classifier_config, 'smoke', 'grey'),
    'gan': (gan_family, gan_config, 'smoke', 'grey'),
}
# Operations whose inputs are the model's matmuls and convolutions.
PRODUCTS = ('dot_general', 'conv_general_dilated')
# Calls whose inner jaxpr takes the call's operands one for one.
CALLS = ('pjit', 'closed_call', 'core_call', 'custom_jvp_call', 'custom_vjp_call',
         'checkpoint', 'remat')
# Fields a case changes to compile in seconds: one level of the U-Net, attention in its
# middle only; a VQ-VAE codebook drawn at random instead of by k-means.
SMALLER = {'diffusion': {'model': {'channel_mults': (1,), 'attn_resolutions': ()}},
           'vqvae': {'objective': {'kmeans_init': False}}}
BATCH = 8
GAN_LEARNING_RATE = 1e-2  # plain SGD: the step moves the params by -lr times the gradient


def _normal(shape, scale: float, seed: int) -> np.ndarray:
  return (scale * np.random.default_rng(seed).standard_normal(shape)).astype(np.float32)


@functools.lru_cache
def _stage1(example_shape, variant: str) -> Stage1:
  """A stage-1 VQ-VAE of the smoke shape with random weights and codebook: what a prior's
  step reads of it (the codebook, phi_k) needs no training, nor an init to compile."""
  c = unlocked(vqvae_config, variant)
  objective = vq_objectives.make_objective(c.model, c.objective, example_shape)
  x = jnp.zeros((1,) + tuple(example_shape))
  shapes = jax.eval_shape(objective.model.init, jax.random.PRNGKey(2),
                          pixel_likelihoods.to_centres(x))
  leaves, treedef = jax.tree.flatten(shapes)
  net = treedef.unflatten([_normal(s.shape, 0.1, i) for i, s in enumerate(leaves)])
  codebook = _normal((c.model.num_codes, c.model.code_dim), 1.0, len(leaves))
  run = types.SimpleNamespace(eval_params={'net': net}, workdir='stage1', config=c,
                              model_state=quantizer.ema_init(codebook)._asdict(),
                              record=lambda: {'workdir': 'stage1', 'step': 0, 'signature': {}})
  return Stage1(run=run, objective=objective)


def _family_and_batch(name, dtype, digits_info, monkeypatch):
  module, config_module, variant, data = FAMILIES[name]
  config = unlocked(config_module, variant, compute_dtype=dtype)
  for section, fields in SMALLER.get(name, {}).items():
    config[section].update(fields)
  labels = digits_info.test_images.labels[:BATCH].astype(np.int32)
  images = digits_info.test_images.images[:BATCH]
  info, batch = digits_info, {'label': labels}
  if data == 'binary':
    batch['image'] = (images > 127).astype(np.float32)
  elif data == 'grey':
    batch['image'] = (images / 255.0).astype(np.float32)
  elif data == 'text':
    text = module.FAMILY.data(config, 0, 1)
    info, batch = text.info, {'tokens': text.train.batch(0)['tokens'][:BATCH]}
  else:
    stage1 = _stage1(tuple(digits_info.example_shape),
                     'smoke' if data == 'codes' else 'smoke,multiscale')
    monkeypatch.setattr(module, 'load_stage1', lambda workdir: stage1)
    shape = stage1.code_shape
    info = DataInfo(num_train=BATCH, num_classes=digits_info.num_classes, example_shape=shape)
    batch['codes'] = np.random.default_rng(0).integers(0, stage1.num_codes, (BATCH,) + shape)
  if name == 'gan':
    config.optimizer.update(name='sgd', learning_rate=GAN_LEARNING_RATE, grad_clip_norm=0.0)
  return module.build(config, info), batch


def _step(name, dtype, digits_info, monkeypatch):
  """(init(rng) -> (params, extra), step(params, extra) -> (loss, gradients)): the family's
  train step as a function of its params, `extra` being what else it reads (model state,
  frozen stage 1). A GAN's gradients come from its whole update_fn, by SGD."""
  family, batch = _family_and_batch(name, dtype, digits_info, monkeypatch)
  training, rng = family.training, jax.random.PRNGKey(1)

  def init(rng):
    params = training.init_params(rng, batch)
    model_state = (training.init_model_state(jax.random.fold_in(rng, 1), batch, params)
                   if training.init_model_state else None)
    return params, {'model_state': model_state, 'frozen': training.frozen}

  if name == 'gan':
    optimizer = training.make_optimizer()

    def step(params, extra):
      state = create_train_state(params, optimizer, rng, ema=False,
                                 model_state=extra['model_state'])
      state, metrics = training.update_fn(state, batch, rng, None)
      return metrics['loss'], jax.tree.map(lambda a, b: (a - b) / GAN_LEARNING_RATE, params,
                                           state.params)
    return init, step

  def step(params, extra):
    loss = lambda p: training.loss_fn(p, batch, rng, StepContext(**extra))[0]
    return jax.value_and_grad(loss)(params)
  return init, step


def _off_zero(params):
  """params whose all-zero leaves (zero-initialised output layers, biases) are moved to
  small random values: a zero output layer would hide the network, and so its compute
  dtype, from the loss."""
  leaves, treedef = jax.tree.flatten(params)
  return treedef.unflatten([leaf if np.any(leaf) else _normal(leaf.shape, 0.02, i)
                            for i, leaf in enumerate(leaves)])


def _product_input_dtypes(step, params, extra):
  """The dtypes of the inputs of every matmul and convolution of step's jaxpr (nested ones
  too) that the params flow into, between arrays of two or more axes. Left out: products
  of what does not depend on the params (a frozen stage 1's teacher-forcing inputs: data,
  not the model), a product with a vector (a float32 sum over an event,
  `distributions._sum_event`, part of the loss), and a product a model keeps in float32
  on purpose, which it marks `Precision.HIGHEST` (Glow's 1x1 convolution, the distances
  to a VQ codebook)."""
  found = set()

  def highest(eqn):
    precision = eqn.params.get('precision')
    precision = precision if isinstance(precision, tuple) else (precision,)
    return all(p == jax.lax.Precision.HIGHEST for p in precision)

  def visit(jaxpr, tainted_inputs):
    tainted = {v for v, t in zip(jaxpr.invars, tainted_inputs) if t}
    for eqn in jaxpr.eqns:
      inputs = [not isinstance(v, jax.extend.core.Literal) and v in tainted
                for v in eqn.invars]
      if (eqn.primitive.name in PRODUCTS and any(inputs) and not highest(eqn)
          and min(v.aval.ndim for v in eqn.invars) >= 2):
        found.update(str(v.aval.dtype) for v in eqn.invars)
      for sub in jax.extend.core.jaxprs_in_params(eqn.params):
        one_for_one = eqn.primitive.name in CALLS and len(sub.invars) == len(inputs)
        visit(sub, inputs if one_for_one else [any(inputs)] * len(sub.invars))
      if any(inputs):
        tainted.update(eqn.outvars)

  closed = jax.make_jaxpr(step)(params, extra)
  num_params = len(jax.tree.leaves(params))
  visit(closed.jaxpr, [i < num_params for i in range(len(closed.jaxpr.invars))])
  return found


@pytest.mark.slow
@pytest.mark.parametrize('name', FAMILIES)
def test_bfloat16_step_multiplies_in_bfloat16_and_keeps_float32_params(name, digits_info,
                                                                      monkeypatch):
  # Traced, not run: shapes and jaxprs say everything this test asks.
  init, step = _step(name, 'bfloat16', digits_info, monkeypatch)
  params, extra = jax.eval_shape(init, jax.random.PRNGKey(0))
  loss, grads = jax.eval_shape(step, params, extra)
  assert loss.dtype == jnp.float32
  assert {g.dtype for g in jax.tree.leaves(grads)} == {jnp.dtype('float32')}
  assert {p.dtype for p in jax.tree.leaves(params)} == {jnp.dtype('float32')}
  # Forward and backward: every product's inputs are bfloat16.
  assert _product_input_dtypes(step, params, extra) == {'bfloat16'}
  # The float32 family is untouched by the option.
  _, step32 = _step(name, 'float32', digits_info, monkeypatch)
  assert _product_input_dtypes(step32, params, extra) == {'float32'}


@pytest.mark.slow
@pytest.mark.parametrize('name', FAMILIES)
def test_bfloat16_loss_and_gradient_are_close_to_float32(name, digits_info, monkeypatch):
  init, step32 = _step(name, 'float32', digits_info, monkeypatch)
  _, step16 = _step(name, 'bfloat16', digits_info, monkeypatch)
  params, extra = jax.jit(init)(jax.random.PRNGKey(0))
  params = _off_zero(params)
  loss32, grads32 = jax.jit(step32)(params, extra)
  loss16, grads16 = jax.jit(step16)(params, extra)
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
