"""benchmarks/conv_share.py: a convolution's FLOPs read from the optimised HLO equal XLA's
cost analysis and a hand count, for the forward convolution and the two XLA writes for its
gradients; grouped, strided and padded ones; a loop body counted once; no convolution, no
share; a convolution computed as taps (genjax.models.conv) is found as one, by its source
line."""

import jax
import jax.numpy as jnp
import pytest
from jax import lax

from benchmarks import conv_share
from genjax.models import conv as genjax_conv

DIMS = ('NHWC', 'HWIO', 'NHWC')


def conv(x, k, padding='VALID', strides=(1, 1), groups=1):
  return lax.conv_general_dilated(x, k, strides, padding, dimension_numbers=DIMS,
                                  feature_group_count=groups)


def compiled(fn, *args):
  return jax.jit(fn).lower(*args).compile()


def conv_flops(program) -> int:
  return conv_share.convolution_flops_in(program.as_text())


def single_conv(x_shape, k_shape, wrt, **kw):
  """The program of one convolution (wrt None) or of its gradient wrt the input (0) or the
  kernel (1), which XLA writes as one convolution with another window, padding or
  dim_labels."""
  x, k = jnp.ones(x_shape), jnp.ones(k_shape)
  if wrt is None:
    return compiled(lambda x, k: conv(x, k, **kw), x, k)
  return compiled(jax.grad(lambda x, k: conv(x, k, **kw).sum(), wrt), x, k)


def hand_count(out_shape, k_shape) -> int:
  # 2 x output elements x (kernel taps x input features per group); VALID, no dilation.
  kh, kw, cin_per_group, _ = k_shape
  n, h, w, cout = out_shape
  return 2 * n * h * w * cout * kh * kw * cin_per_group


@pytest.mark.parametrize('wrt', [None, 0, 1], ids=['forward', 'input grad', 'kernel grad'])
def test_one_convolution_counts_as_cost_analysis_and_by_hand(wrt):
  program = single_conv((2, 7, 7, 3), (3, 3, 3, 4), wrt)
  assert program.as_text().count(' convolution(') == 1
  assert conv_flops(program) == conv_share.total_flops(program)
  assert conv_flops(program) == hand_count((2, 5, 5, 4), (3, 3, 3, 4)) == 10800
  assert conv_share.conv_flop_share(program) == conv_share.ConvShare(xla=1.0, taps=0.0)


@pytest.mark.parametrize('wrt', [None, 0, 1], ids=['forward', 'input grad', 'kernel grad'])
def test_a_grouped_convolution_counts_its_input_features_per_group(wrt):
  program = single_conv((2, 6, 6, 4), (3, 3, 2, 6), wrt, groups=2)
  assert conv_flops(program) == conv_share.total_flops(program)
  assert conv_flops(program) == hand_count((2, 4, 4, 6), (3, 3, 2, 6)) == 6912


@pytest.mark.parametrize('wrt', [None, 0, 1], ids=['forward', 'input grad', 'kernel grad'])
def test_padding_and_stride_count_only_taps_that_read_the_input(wrt):
  # SAME padding on 8 with a 3-tap kernel: 8 x 3 taps less the 2 that read padding, 22 per
  # spatial dim; XLA's cost analysis leaves those out, and so does the count.
  program = single_conv((2, 8, 8, 3), (3, 3, 3, 4), wrt, padding='SAME')
  assert conv_flops(program) == conv_share.total_flops(program) == 2 * 2 * 4 * 3 * 22 * 22
  strided = single_conv((2, 9, 9, 3), (3, 3, 3, 4), wrt, padding='SAME', strides=(2, 2))
  assert conv_flops(strided) == conv_share.total_flops(strided)


def test_a_matmul_only_program_has_share_zero():
  a = jnp.ones((16, 16))
  program = compiled(lambda a, b: jnp.tanh(a @ b).sum(), a, a)
  assert conv_share.total_flops(program) > 0
  assert conv_flops(program) == 0
  assert conv_share.conv_flop_share(program) == conv_share.ConvShare(xla=0.0, taps=0.0)


def test_a_convolution_in_a_scan_counts_once_as_cost_analysis_counts_its_body():
  x, k = jnp.ones((2, 7, 7, 3)), jnp.ones((3, 3, 3, 3))

  def scanned(x, k, length):
    body = lambda c, _: (conv(c, k, padding='SAME'), None)
    return lax.scan(body, x, None, length=length)[0]

  once, five = (compiled(lambda x, k, n=n: scanned(x, k, n), x, k) for n in (1, 5))
  assert 'while(' in five.as_text()  # a loop, not unrolled
  assert conv_flops(five) == conv_flops(once) == 2 * 2 * 3 * 3 * (7 * 3 - 2)**2
  # The rest of the loop's count is its counter's increment and test, not 4 more bodies.
  assert 0 <= conv_share.total_flops(five) - conv_flops(five) < 10


def test_a_step_with_a_convolution_and_a_matmul_has_a_share_between():
  x, k, w = jnp.ones((2, 7, 7, 3)), jnp.ones((3, 3, 3, 4)), jnp.ones((100, 64))

  def step(x, k, w):
    return conv(x, k).reshape(2, -1) @ w

  program = compiled(step, x, k, w)
  matmul = 2 * 2 * 100 * 64
  conv_only = 10800
  assert conv_share.total_flops(program) >= conv_only + matmul
  share = conv_share.conv_flop_share(program)
  assert share.taps == 0  # the matmul is not a convolution's
  assert share.total == share.xla == pytest.approx(conv_only / conv_share.total_flops(program))
  assert 0 < share.total <= conv_only / (conv_only + matmul)


def test_a_convolution_custom_call_is_an_error_not_a_share_too_low():
  text = ('%x = f32[2,4,4,3]{3,2,1,0} parameter(0)\n'
          '%c = f32[2,4,4,4]{3,2,1,0} custom-call(%x), '
          'custom_call_target="__onednn$convolution"')
  with pytest.raises(NotImplementedError, match='onednn'):
    conv_share.convolution_flops_in(text)


@pytest.mark.parametrize('wrt', [None, 0, 1], ids=['forward', 'input grad', 'kernel grad'])
def test_a_convolution_as_taps_is_counted_as_its_matmul(wrt):
  x, k = jnp.ones((2, 7, 7, 3)), jnp.ones((3, 3, 3, 4))
  taps = lambda x, k: genjax_conv.conv_taps(x, k, (1, 1), ((0, 0), (0, 0)))
  fn = taps if wrt is None else jax.grad(lambda x, k: taps(x, k).sum(), wrt)
  program = compiled(fn, x, k)
  share = conv_share.conv_flop_share(program)
  assert share.xla == 0
  # The same multiply-adds as the VALID convolution: [50, 27] @ [27, 4], or its transposes.
  assert conv_share.taps_flops_in(program.as_text()) == hand_count((2, 5, 5, 4), (3, 3, 3, 4))
  assert share.taps == pytest.approx(10800 / conv_share.total_flops(program))
  assert share.total > 0.5  # the rest is shifting and padding, no multiplies


def test_a_matmul_outside_the_convolution_files_is_not_taps():
  x, k, w = jnp.ones((2, 7, 7, 3)), jnp.ones((3, 3, 3, 4)), jnp.ones((100, 64))
  step = lambda x, k, w: genjax_conv.conv_taps(x, k, (1, 1), ((0, 0), (0, 0))).reshape(
      2, -1) @ w
  program = compiled(step, x, k, w)
  assert conv_share.taps_flops_in(program.as_text()) == 10800
  assert conv_share.taps_flops_in(program.as_text(), files=('no/such/file.py',)) == 0
