"""VAR's multi-scale residual quantiser as math: the schedule's length, the resampling maps,
the residual bookkeeping, and tokens that rebuild the encoder's f_hat exactly."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from genjax.models import multiscale_quantizer as ms
from genjax.models.vqvae import VQVAE
from tests.numpy_init import numpy_variables

SCALES = (1, 2, 3, 4, 5, 7)


def test_the_sequence_length_is_the_sum_of_squared_sides():
  assert ms.sequence_length(SCALES) == 1 + 4 + 9 + 16 + 25 + 49 == 104
  assert ms.sequence_length((1, 2, 3, 4, 5, 6, 8, 10, 13, 16)) == 680  # VAR's ImageNet 256
  slices = ms.scale_slices(SCALES)
  assert [s.stop - s.start for s in slices] == [p * p for p in SCALES]
  assert slices[0].start == 0 and slices[-1].stop == 104


@pytest.mark.parametrize('bad', [(), (2, 1, 7), (1, 2, 5), (0, 7), (1, 3, 3, 7)])
def test_a_schedule_that_does_not_rise_to_the_side_is_refused_with_a_fix(bad):
  with pytest.raises(ValueError, match=r'e\.g\. \(1, 2, 3, 4, 5, 7\)'):
    ms.check_scales(bad, 7)


def test_area_downsampling_averages_the_cells_each_output_covers():
  for side in (7, 5, 4):
    for p in range(1, side + 1):
      m = ms.area_matrix(side, p)
      np.testing.assert_allclose(m.sum(axis=1), 1.0, rtol=1e-6)
      assert (m > 0).sum(axis=1).min() >= side // p  # every cell of the window counts
  np.testing.assert_array_equal(ms.area_matrix(4, 2), [[.5, .5, 0, 0], [0, 0, .5, .5]])
  np.testing.assert_array_equal(ms.area_matrix(7, 7), np.eye(7))
  f = np.random.default_rng(0).normal(size=(2, 4, 4, 3)).astype(np.float32)
  pooled = f.reshape(2, 2, 2, 2, 2, 3).mean(axis=(2, 4))
  np.testing.assert_allclose(ms.downsample(jnp.asarray(f), 2), pooled, rtol=1e-6)


def test_bicubic_upsampling_is_a_partition_of_unity_that_reproduces_lines_inside():
  for p, side in ((2, 7), (3, 7), (5, 7), (4, 14)):
    np.testing.assert_allclose(ms.bicubic_matrix(p, side).sum(axis=1), 1.0, atol=1e-6)
    # Keys' cubic convolution with a = -1/2 is exact on quadratics where no tap is clamped
    # (PyTorch's a = -3/4, the default, only on constants): the kernel's own formula.
    m = ms.bicubic_matrix(p, side, a=-0.5)
    x = (np.arange(side) + 0.5) * p / side - 0.5
    inside = (np.floor(x) - 1 >= 0) & (np.floor(x) + 2 <= p - 1)
    for power in (1, 2):
      np.testing.assert_allclose((m @ np.arange(p) ** power)[inside], x[inside] ** power,
                                 atol=1e-4)
  np.testing.assert_allclose(ms.bicubic_matrix(7, 7), np.eye(7), atol=1e-7)


def _tokenizer(side=3, dim=4):
  model = VQVAE(image_shape=(4 * side, 4 * side, 1), channels=8, res_hidden=4,
                num_res_blocks=1, code_dim=dim, scales=tuple(range(1, side + 1)))
  net = numpy_variables(model, jnp.zeros((1, 4 * side, 4 * side, 1)), scale=0.3)
  return model, net, lambda h, k: model.apply(net, h, k, method=VQVAE.phi)


@pytest.mark.slow
def test_tokens_rebuild_the_encoders_f_hat_exactly_and_the_residual_adds_up():
  model, _, phi = _tokenizer()
  rng = np.random.default_rng(1)
  f = jnp.asarray(rng.normal(size=(5, 3, 3, 4)), jnp.float32)
  codebook = jnp.asarray(rng.normal(size=(16, 4)), jnp.float32)
  q = ms.quantize(f, codebook, model.scales, phi)
  assert q.tokens.shape == (5, 14) and q.tokens.dtype == jnp.int32
  f_hats = ms.cumulative_f_hats(q.tokens, codebook, model.scales, phi)
  for built, encoded in zip(f_hats, q.f_hats):
    np.testing.assert_array_equal(built, encoded)  # bit for bit
  np.testing.assert_array_equal(q.z_st, q.f_hats[-1])  # the decoder sees f_hat itself
  # Each scale's code is the nearest to the downsampled residual left by the scales before.
  rest = f
  for k, (codes, p) in enumerate(zip(ms.split_tokens(q.tokens, model.scales), model.scales)):
    small = ms.downsample(rest, p)
    dist = jnp.sum((small[..., None, :] - codebook) ** 2, axis=-1)
    np.testing.assert_array_equal(codes, jnp.argmin(dist, axis=-1))
    np.testing.assert_allclose(q.inputs[:, ms.scale_slices(model.scales)[k]],
                               small.reshape(5, p * p, 4), rtol=1e-6)
    rest = rest - ms.scale_contribution(codes, codebook, 3, k, phi)
  np.testing.assert_allclose(f - q.f_hats[-1], rest, atol=1e-5)


def test_teacher_forcing_inputs_are_the_downsampled_cumulative_f_hat():
  model, _, phi = _tokenizer()
  rng = np.random.default_rng(2)
  codebook = jnp.asarray(rng.normal(size=(16, 4)), jnp.float32)
  tokens = jnp.asarray(rng.integers(0, 16, (2, 14)), jnp.int32)
  inputs = ms.next_scale_inputs(tokens, codebook, model.scales, phi)
  assert inputs.shape == (2, 13, 4)
  f_hats = ms.cumulative_f_hats(tokens, codebook, model.scales, phi)
  np.testing.assert_allclose(inputs[:, :4], ms.downsample(f_hats[0], 2).reshape(2, 4, 4),
                             rtol=1e-6)
  np.testing.assert_allclose(inputs[:, 4:], f_hats[1].reshape(2, 9, 4), rtol=1e-6)


def test_vq_terms_average_the_scales_and_send_gradients_where_they_belong():
  rng = np.random.default_rng(3)
  f = jnp.asarray(rng.normal(size=(2, 3, 3, 4)), jnp.float32)
  hats = [jnp.asarray(rng.normal(size=(2, 3, 3, 4)), jnp.float32) for _ in range(3)]
  commitment, codebook = ms.vq_terms(f, hats, beta=0.25)
  expect = np.mean([np.sum((np.asarray(f) - np.asarray(h)) ** 2, axis=(1, 2, 3))
                    for h in hats], axis=0)
  np.testing.assert_allclose(commitment, 0.25 * expect, rtol=1e-5)
  np.testing.assert_allclose(codebook, expect, rtol=1e-5)
  d_f = jax.grad(lambda f: ms.vq_terms(f, hats, 0.25)[1].sum())(f)
  d_h = jax.grad(lambda h: ms.vq_terms(f, [h] + hats[1:], 0.25)[0].sum())(hats[0])
  assert not np.any(d_f) and not np.any(d_h)  # each term moves only its own side
