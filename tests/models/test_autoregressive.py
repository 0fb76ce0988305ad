"""Autoregressive models: masks as math, causality and the blind spot by gradients."""

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from genjax.models import colour_masks, masked_conv, pixels, receptive_field
from genjax.models.gated_pixelcnn import GatedPixelCNN
from genjax.models.lstm import PixelLSTM
from genjax.models.pixelcnn import PixelCNN
from genjax.models.transformer import PixelTransformer

H = W = 6
K = 11  # codebook size of the code models


def small(arch, likelihood='bernoulli', num_classes=0, image_shape=(H, W, 1), **kw):
  common = dict(likelihood=likelihood, num_classes=num_classes)
  if image_shape[2] > 1 and arch != 'transformer':
    common['image_channels'] = image_shape[2]
  if arch == 'pixelcnn':
    return PixelCNN(channels=8, num_blocks=2, first_kernel=3, output_hidden=32, **common, **kw)
  if arch == 'gated_pixelcnn':
    return GatedPixelCNN(channels=8, num_layers=2, first_kernel=3, output_hidden=32, **common,
                         **kw)
  if arch == 'transformer':
    return PixelTransformer(image_shape=image_shape, dim=8, num_heads=2, num_layers=2, **common,
                            **kw)
  return PixelLSTM(hidden=8, num_layers=2, embed_dim=4, **common, **kw)


ARCHS = ('pixelcnn', 'gated_pixelcnn', 'transformer', 'lstm')


def random_params(model, shape, y=None, seed=0):
  """Parameters of model.init's shapes, drawn by NumPy: matrices ~ N(0, 1/fan_in), vectors
  ~ N(0, 0.01). Causality and the samplers' agreement hold for any weights, and this skips
  compiling flax's initialisers, which costs seconds per model on a CPU."""
  shapes = jax.eval_shape(model.init, jax.random.PRNGKey(0), jnp.zeros((1,) + tuple(shape)), y)
  rng = np.random.default_rng(seed)
  scale = lambda s: 1 / np.sqrt(s[0]) if len(s) > 1 else 0.1
  return jax.tree.map(
      lambda s: jnp.asarray(rng.standard_normal(s.shape, np.float32) * scale(s.shape)), shapes)


dependence = receptive_field.input_dependence


def assert_causal(dep, h, w, sees_whole_prefix):
  """dep [n, n] from `dependence`: no output sees its own or a later position, and every
  output sees its left and upper neighbours (sequence models: every earlier position)."""
  n = h * w
  assert not dep[np.triu_indices(n)].any(), 'some output sees its own or a later pixel'
  left = [(r * w + c, r * w + c - 1) for r in range(h) for c in range(1, w)]
  above = [(r * w + c, (r - 1) * w + c) for r in range(1, h) for c in range(w)]
  assert all(dep[i, j] for i, j in left + above), 'left and upper neighbours are seen'
  if sees_whole_prefix:
    assert dep[np.tril_indices(n, -1)].all()


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


@pytest.mark.slow
@pytest.mark.parametrize('arch', ARCHS)
def test_output_at_i_has_zero_gradient_wrt_inputs_at_or_after_i(arch):
  """On the class-conditional 256-way model: labels and heads must not break causality."""
  model = small(arch, 'categorical', num_classes=10)
  y = jnp.array([7])
  params = jax.jit(model.init)(jax.random.PRNGKey(0), jnp.zeros((1, H, W, 1)), y)
  dep = dependence(model, params, (H, W, 1), y)
  assert_causal(dep, H, W, sees_whole_prefix=arch in ('transformer', 'lstm'))
  # Heads and labels: 256 logits per pixel, and the label changes p(x | y).
  x = jnp.full((2, H, W, 1), 0.5)
  logits = jax.jit(model.apply)(params, x, jnp.array([0, 7]))
  chex.assert_shape(logits, (2, H, W, 256))
  assert not jnp.allclose(logits[0], logits[1])
  with pytest.raises(ValueError, match='pass labels y'):
    model.apply(params, x)


@pytest.mark.parametrize('arch', ['gated_pixelcnn', 'transformer'])
def test_code_models_embed_each_code_and_stay_causal_in_the_embedding(arch):
  """VQ-VAE codes are not ordinal: each enters as its own row of a K-row table (conv models
  too), the head has K logits, and the logits at i depend on no embedded code at >= i."""
  shape = (4, 5, 1)
  model = small(arch, 'codes', num_codes=K, image_shape=shape)
  params = random_params(model, shape)
  assert_causal(dependence(model, params, shape), 4, 5, sees_whole_prefix=arch == 'transformer')
  codes = jnp.arange(20).reshape(1, 4, 5) % K
  canvas = pixels.canvas_from_codes(codes, K)
  table = params['params']['token_embed' if arch == 'transformer' else 'code_embed']
  np.testing.assert_array_equal(model.apply(params, canvas, method='features'),
                                table['embedding'][codes])
  chex.assert_shape(jax.jit(model.apply)(params, canvas), (1, 4, 5, K))


def test_code_models_need_the_codebook_size():
  x = jnp.zeros((1, 4, 4, 1))
  with pytest.raises(ValueError, match='num_codes > 0'):
    small('gated_pixelcnn', 'codes').init(jax.random.PRNGKey(0), x)
  with pytest.raises(ValueError, match='num_codes=0'):
    small('lstm', 'categorical', num_codes=K).init(jax.random.PRNGKey(0), x)


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


# Colour images: sub-pixels R, G, B within each pixel (van den Oord et al., 2016a, sec. 3.4).
RGB = (4, 5, 3)


def test_colour_groups_and_channel_masks():
  np.testing.assert_array_equal(colour_masks.colour_groups(8, 3), [0, 0, 0, 1, 1, 1, 2, 2])
  # A gate's two halves are grouped alike, so tanh(f) * sigmoid(g) stays in its group.
  np.testing.assert_array_equal(colour_masks.colour_groups(6, 3, blocks=2),
                                [0, 1, 2, 0, 1, 2])
  rgb = np.arange(3)
  np.testing.assert_array_equal(colour_masks.channel_mask(rgb, rgb, 'A'),
                                [[0, 1, 1], [0, 0, 1], [0, 0, 0]])  # [in, out]: R -> G, B
  np.testing.assert_array_equal(colour_masks.channel_mask(rgb, rgb, 'B'),
                                [[1, 1, 1], [0, 1, 1], [0, 0, 1]])


def test_colour_masked_conv_equals_a_dense_convolution_under_the_paper_mask():
  """Mask A on RGB input and 6 outputs (2 per colour): every tap above and left of the
  centre is open; at the centre, R outputs read nothing, G outputs R, B outputs R and G."""
  conv = masked_conv.MaskedConv2D(features=6, kernel_size=3, mask_type='A', colours=3)
  x = jax.random.normal(jax.random.PRNGKey(0), (2, 5, 4, 3))
  params = conv.init(jax.random.PRNGKey(1), x)
  taps = masked_conv.mask_taps(3, 'B')  # the centre tap is kept, masked by colour
  w = params['params']['TapConv_0']['kernel'].reshape(len(taps), 3, 6)
  dense = jnp.zeros((3, 3, 3, 6))
  for t, (dy, dx) in enumerate(taps):
    dense = dense.at[dy + 1, dx + 1].set(w[t])
  centre = np.array([[0, 0, 1, 1, 1, 1],   # R in: to G and B outputs
                     [0, 0, 0, 0, 1, 1],   # G in: to B outputs
                     [0, 0, 0, 0, 0, 0]])  # B in: to none
  dense = dense.at[1, 1].multiply(centre)
  expected = jax.lax.conv_general_dilated(x, dense, (1, 1), 'SAME',
                                          dimension_numbers=('NHWC', 'HWIO', 'NHWC'))
  np.testing.assert_allclose(conv.apply(params, x), expected, atol=1e-5)


def test_one_colour_keeps_the_grayscale_layers():
  """Grayscale models keep their parameters: no centre tap in mask A, flax's own Dense."""
  assert type(colour_masks.dense(4, 1)).__name__ == 'Dense'
  x = jnp.zeros((1, 4, 4, 1))
  gray = jax.eval_shape(small('pixelcnn').init, jax.random.PRNGKey(0), x)['params']
  assert gray['first']['TapConv_0']['kernel'].shape == (4, 16)  # 4 taps of type A
  colour = jax.eval_shape(small('pixelcnn', 'categorical', image_shape=RGB).init,
                          jax.random.PRNGKey(0), jnp.zeros((1,) + RGB))['params']
  assert colour['first']['TapConv_0']['kernel'].shape == (5 * 3, 16)  # the centre too
  assert colour['out_logits']['kernel'].shape == (32, 3 * 256)


def subpixel_dependence(model, params, shape, y=None, out_pixel=None, draws=8):
  """dep[i, k, j, l]: output k at pixel i depends on colour l of input pixel j, [n, K, n, C].

  K = C for per-colour heads (colour k's outputs a contiguous block), 1 for the mixture's
  whole pixel. Input features are the colours themselves (conv models) or C consecutive
  embeddings (sequence models). A dependence is a non-zero gradient at any of `draws`
  random inputs: a path that one input's ReLUs close, another opens. With out_pixel, only
  its row, [K, n, C].
  """
  n, colours = shape[0] * shape[1], shape[2]
  k_out = 1 if model.likelihood == pixels.MIXTURE else colours
  shape_f = jax.eval_shape(lambda x: model.apply(params, x, method='features'),
                           jnp.zeros((1,) + shape)).shape

  def outputs(f):
    out = model.apply(params, f, y, method='logits_from_features')
    out = out.reshape(n, k_out, -1).sum(-1)
    return out if out_pixel is None else out[out_pixel]

  jacobian = jax.jit(jax.jacrev(outputs))
  dep = False
  for seed in range(draws):
    jac = jacobian(jax.random.normal(jax.random.PRNGKey(seed + 1), shape_f))
    dep = dep | np.asarray(jnp.any(jac.reshape(jac.shape[:-4] + (n, colours, -1)) != 0, -1))
  return dep


def allowed_dependence(n, k_out, colours):
  """[n, K, n, C]: earlier pixels, and earlier colours of the same pixel (per-colour heads)."""
  i, k, j, colour = np.ix_(range(n), range(k_out), range(n), range(colours))
  return (j < i) | ((j == i) & (colour < k) & (k_out > 1))


@pytest.mark.parametrize('arch,likelihood', [
    ('pixelcnn', 'categorical'), ('gated_pixelcnn', 'categorical'),
    ('transformer', 'categorical'), ('lstm', 'categorical'),
    ('pixelcnn', 'logistic_mixture'), ('gated_pixelcnn', 'logistic_mixture')])
def test_colour_outputs_see_earlier_pixels_and_earlier_colours_only(arch, likelihood):
  """Red never sees its own pixel, green sees its red, blue its red and green, nothing
  sees a later pixel; the mixture's whole-pixel outputs see earlier pixels only."""
  kw = {'num_mixtures': 2} if likelihood == pixels.MIXTURE else {}
  model = small(arch, likelihood, num_classes=3, image_shape=RGB, **kw)
  y = jnp.array([2])
  params = random_params(model, RGB, y)
  dep = subpixel_dependence(model, params, RGB, y)
  n, colours = RGB[0] * RGB[1], 3
  allowed = allowed_dependence(n, dep.shape[1], colours)
  assert not (dep & ~allowed).any(), 'an output sees its own or a later colour or pixel'
  idx = np.arange(n)
  for k in range(dep.shape[1]):  # colour k sees colours < k of its own pixel
    assert dep[idx, k, idx, :k].all()
  left = [(r * RGB[1] + c, r * RGB[1] + c - 1) for r in range(RGB[0]) for c in range(1, RGB[1])]
  assert all(dep[i, :, j].all() for i, j in left), 'every colour of the left neighbour'
  if arch in ('transformer', 'lstm'):
    np.testing.assert_array_equal(dep, allowed)  # the whole prefix of sub-pixels
  chex.assert_shape(jax.jit(model.apply)(params, jnp.zeros((1,) + RGB), y),
                    (1,) + RGB[:2] + (pixels.head_width(likelihood, 0, 3, 2),))


def test_gated_pixelcnn_in_colour_has_no_blind_spot():
  shape = (8, 8, 3)
  r, c = 5, 3
  model = GatedPixelCNN(likelihood='categorical', channels=6, num_layers=3, first_kernel=3,
                        kernel=3, output_hidden=12, image_channels=3)
  params = random_params(model, shape)
  dep = subpixel_dependence(model, params, shape, out_pixel=r * 8 + c).reshape(3, 8, 8, 3)
  # Every colour of every pixel in rows r-2, r-1 and columns c-2 .. c+3, for each output.
  np.testing.assert_array_equal(dep[:, r - 2:r, c - 2:c + 4], True)
  np.testing.assert_array_equal(dep[:, r, c - 2:c], True)
