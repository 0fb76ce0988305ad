"""model.remat: blocks recomputed in the backward pass give the gradients of keeping
everything, while the forward pass keeps less for the backward one; a value outside the
choices, or remat asked of a network without blocks, is refused in one line.

What remat saves is measured by the residuals: the arrays `jax.vjp` keeps from the forward
pass for the backward one. XLA:CPU's compiled temporary memory
(`memory_analysis().temp_size_in_bytes`) does not show the saving: with jaxlib 0.10.2 it
reported no fewer bytes with remat than without for the Transformer and the U-Net at every
size tried (up to 8 blocks over 256 positions, a 32x32 U-Net at batch 16), though the
compiled step did hold the recomputed products; so it is not what these tests compare.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from configs import autoregressive as autoregressive_config
from configs import diffusion as diffusion_config
from genjax import config as config_lib
from genjax.data.family_data import DataInfo
from genjax.families import autoregressive as autoregressive_family
from genjax.families import diffusion as diffusion_family
from genjax.models.remat import REMAT
from genjax.models.var import VARTransformer
from genjax.training.family import StepContext
from tests.families.run_config import unlocked

SCALES = (1, 2)  # VAR's tokens of the 8x8 digits' 2x2 latent
NUM_CODES = 32


def _family_loss(module, config_module, variant, binary, remat, digits_info, **model):
  """(init(rng), loss(params)): the family's training loss on 8 digits with model.remat."""
  config = unlocked(config_module, variant)
  config.model.update(remat=remat, **model)
  info = DataInfo(num_train=8, num_classes=digits_info.num_classes,
                  example_shape=digits_info.example_shape)
  family = module.build(config, info)
  images = digits_info.test_images.images[:8]
  batch = {'image': ((images > 127) if binary else images / 255.0).astype(np.float32),
           'label': digits_info.test_images.labels[:8].astype(np.int32)}
  loss = lambda p: family.training.loss_fn(p, batch, jax.random.PRNGKey(1), StepContext())[0]
  return lambda rng: family.training.init_params(rng, batch), loss


def _var_loss(remat, digits_info):
  """VAR's transformer on random tokens, with stochastic depth (an rng inside each block)."""
  del digits_info
  model = VARTransformer(scales=SCALES, num_codes=NUM_CODES, dim=16, num_heads=2,
                         num_layers=2, num_classes=10, drop_path=0.2, remat=remat)
  rng = np.random.default_rng(0)
  inputs = rng.standard_normal((8, 4, 8)).astype(np.float32)  # [B, L - 1, D]
  tokens = rng.integers(0, NUM_CODES, (8, 5))
  labels = np.arange(8) % 10

  def loss(params):
    logits = model.apply(params, inputs, labels, train=True,
                         rngs={'dropout': jax.random.PRNGKey(1)})
    logp = jax.nn.log_softmax(logits)
    return -jnp.mean(jnp.take_along_axis(logp, tokens[..., None], -1))

  return lambda key: model.init(key, inputs, labels), loss


CASES = {
    # One level, attention in the middle: every kind of U-Net block, compiled in seconds.
    'unet': lambda remat, info: _family_loss(
        diffusion_family, diffusion_config, 'smoke', False, remat, info,
        channel_mults=(1,), attn_resolutions=()),
    'transformer': lambda remat, info: _family_loss(
        autoregressive_family, autoregressive_config, 'transformer,smoke', True, remat, info),
    'var': _var_loss,
}


def _residual_bytes(loss, params) -> int:
  """Bytes of what the forward pass keeps for the backward pass (traced, not run)."""
  kept = jax.eval_shape(lambda p: jax.tree.leaves(jax.vjp(loss, p)[1]), params)
  return sum(a.size * a.dtype.itemsize for a in kept)


@pytest.mark.slow  # four programs compiled per network
@pytest.mark.parametrize('name', CASES)
def test_remat_gives_the_gradients_of_keeping_everything(name, digits_info):
  init, loss = CASES[name]('none', digits_info)
  params = jax.jit(init)(jax.random.PRNGKey(0))
  expected = jax.jit(jax.grad(loss))(params)
  for remat in REMAT[1:]:
    _, loss_remat = CASES[name](remat, digits_info)
    grads = jax.jit(jax.grad(loss_remat))(params)  # the same parameter tree
    # To float32 rounding, relative to each leaf's scale: XLA may fuse the recomputed
    # forward pass differently, so sums of many terms round differently.
    for got, want in zip(jax.tree.leaves(grads), jax.tree.leaves(expected)):
      np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5 * np.abs(want).max())


@pytest.mark.parametrize('name', CASES)
def test_remat_keeps_less_for_the_backward_pass(name, digits_info):
  kept = {}
  for remat in REMAT:
    init, loss = CASES[name](remat, digits_info)
    kept[remat] = _residual_bytes(loss, jax.eval_shape(init, jax.random.PRNGKey(0)))
  # 'dots_saveable' keeps the dense layers' outputs that 'block' recomputes.
  assert kept['block'] < kept['dots_saveable'] < kept['none'], kept


def test_a_remat_outside_the_choices_is_refused_naming_them():
  config = unlocked(diffusion_config, 'smoke')
  config.model.remat = 'blocks'
  with pytest.raises(config_lib.ConfigError,
                     match=r"model.remat='blocks' is not one of \('none', 'block', "
                     r"'dots_saveable'\); set --config.model.remat=block"):
    config_lib.validate(config, diffusion_family.FAMILY.schema(),
                        diffusion_family.FAMILY.ranges)


def test_remat_of_a_network_without_blocks_is_refused_in_one_line(digits_info):
  config = unlocked(autoregressive_config, 'smoke')
  config.model.remat = 'block'
  with pytest.raises(config_lib.ConfigError, match='pixelcnn has none: set '
                     '--config.model.remat=none'):
    autoregressive_family.build(config, digits_info)
