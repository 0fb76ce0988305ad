"""Autoregressive models: masks as math, causality and the blind spot by gradients."""

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from genjax.models import masked_conv, receptive_field
from genjax.models.gated_pixelcnn import GatedPixelCNN
from genjax.models.lstm import PixelLSTM
from genjax.models.pixelcnn import PixelCNN
from genjax.models.transformer import PixelTransformer

H = W = 6


def small(arch, likelihood='bernoulli', num_classes=0, **kw):
  common = dict(likelihood=likelihood, num_classes=num_classes)
  if arch == 'pixelcnn':
    return PixelCNN(channels=8, num_blocks=2, first_kernel=3, output_hidden=32, **common, **kw)
  if arch == 'gated_pixelcnn':
    return GatedPixelCNN(channels=8, num_layers=2, first_kernel=3, output_hidden=32, **common,
                         **kw)
  if arch == 'transformer':
    return PixelTransformer(image_shape=(H, W, 1), dim=8, num_heads=2, num_layers=2, **common,
                            **kw)
  return PixelLSTM(hidden=8, num_layers=2, embed_dim=4, **common, **kw)


ARCHS = ('pixelcnn', 'gated_pixelcnn', 'transformer', 'lstm')


dependence = receptive_field.input_dependence


def test_causal_masks():
  np.testing.assert_array_equal(masked_conv.causal_mask(3, 'A'),
                                [[1, 1, 1], [1, 0, 0], [0, 0, 0]])
  np.testing.assert_array_equal(masked_conv.causal_mask(3, 'B'),
                                [[1, 1, 1], [1, 1, 0], [0, 0, 0]])
  assert masked_conv.causal_mask(7, 'A').sum() == 24
  assert masked_conv.mask_taps(3, 'B') == ((-1, -1), (-1, 0), (-1, 1), (0, -1), (0, 0))


def test_masked_conv_equals_a_masked_dense_convolution():
  conv = masked_conv.MaskedConv2D(features=5, kernel_size=5, mask_type='A')
  x = jax.random.normal(jax.random.PRNGKey(0), (2, 7, 6, 3))
  params = conv.init(jax.random.PRNGKey(1), x)
  taps = masked_conv.mask_taps(5, 'A')
  w = params['params']['TapConv_0']['kernel'].reshape(len(taps), 3, 5)
  dense = jnp.zeros((5, 5, 3, 5))
  for t, (dy, dx) in enumerate(taps):
    dense = dense.at[dy + 2, dx + 2].set(w[t])
  expected = jax.lax.conv_general_dilated(x, dense, (1, 1), 'SAME',
                                          dimension_numbers=('NHWC', 'HWIO', 'NHWC'))
  np.testing.assert_allclose(conv.apply(params, x), expected, atol=1e-5)


@pytest.mark.parametrize('taps', [masked_conv.mask_taps(5, 'A'), masked_conv.mask_taps(3, 'B'),
                                  ((-1, -1), (-1, 0), (-1, 1), (0, -1), (0, 0), (0, 1))])
def test_tap_conv_at_pixels_from_a_cache_equals_the_full_pass(taps):
  """Cached decoding's building block: store pixels one by one, read outputs anywhere."""
  conv = masked_conv.TapConv(features=4, taps=taps)
  x = jax.random.normal(jax.random.PRNGKey(0), (2, 5, 7, 3))
  params = conv.init(jax.random.PRNGKey(1), x)
  full = conv.apply(params, x)
  cache = conv.apply(params, 2, (5, 7), 3, method='empty_input')
  for r in range(5):  # row by row, as a sampler fills it, then check the row
    cache = conv.apply(params, cache, x[:, r], r, 0, method='store')
    np.testing.assert_allclose(conv.apply(params, cache, r, 0, 7, method='at'), full[:, r],
                               atol=1e-5)
    for c in (0, 3, 6):
      np.testing.assert_allclose(conv.apply(params, cache, r, c, method='at')[:, 0],
                                 full[:, r, c], atol=1e-5)


@pytest.mark.parametrize('arch', ARCHS)
def test_output_at_i_has_zero_gradient_wrt_inputs_at_or_after_i(arch):
  """On the class-conditional 256-way model: labels and heads must not break causality."""
  model = small(arch, 'categorical', num_classes=10)
  y = jnp.array([7])
  params = jax.jit(model.init)(jax.random.PRNGKey(0), jnp.zeros((1, H, W, 1)), y)
  dep = dependence(model, params, (H, W, 1), y)
  n = H * W
  assert not dep[np.triu_indices(n)].any(), 'some output sees its own or a later pixel'
  left = [(r * W + c, r * W + c - 1) for r in range(H) for c in range(1, W)]
  above = [(r * W + c, (r - 1) * W + c) for r in range(1, H) for c in range(W)]
  assert all(dep[i, j] for i, j in left + above), 'left and upper neighbours are seen'
  if arch in ('transformer', 'lstm'):  # sequence models see the whole prefix
    assert dep[np.tril_indices(n, -1)].all()
  # Heads and labels: 256 logits per pixel, and the label changes p(x | y).
  x = jnp.full((2, H, W, 1), 0.5)
  logits = jax.jit(model.apply)(params, x, jnp.array([0, 7]))
  chex.assert_shape(logits, (2, H, W, 256))
  assert not jnp.allclose(logits[0], logits[1])
  with pytest.raises(ValueError, match='pass labels y'):
    model.apply(params, x)


def test_pixelcnn_has_a_blind_spot_that_the_gated_pixelcnn_covers():
  shape = (8, 8, 1)
  r, c = 5, 3
  plain = PixelCNN(channels=8, num_blocks=3, first_kernel=3, kernel=3, output_hidden=32)
  gated = GatedPixelCNN(channels=8, num_layers=3, first_kernel=3, kernel=3, output_hidden=32)
  seen = {}
  for name, model in (('plain', plain), ('gated', gated)):
    params = jax.jit(model.init)(jax.random.PRNGKey(0), jnp.zeros((1,) + shape))
    seen[name] = dependence(model, params, shape, out_pixel=r * 8 + c).reshape(8, 8)
  # Rows above, columns c-2 .. c+3: the Gated PixelCNN sees every pixel there ...
  np.testing.assert_array_equal(seen['gated'][r - 2:r, c - 2:c + 4], True)
  # ... the plain PixelCNN reaches (r-d, c+j) only for j <= d (each step right costs a row).
  missed = {(int(i), int(j)) for i, j in zip(*np.nonzero(~seen['plain'][r - 2:r, c - 2:c + 4]))}
  assert missed == {(1, 4), (1, 5), (0, 5)}  # (r-1, c+2), (r-1, c+3), (r-2, c+3)
