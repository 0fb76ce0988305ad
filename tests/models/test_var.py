"""The VAR transformer and its sampler as math: block-causality by perturbation, the KV
cache against the masked full pass, the same samples from the same key, guidance and
filtering, and a sample's log-probs against the training objective."""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from genjax.models import multiscale_quantizer as ms
from genjax.models.var import VARTransformer, block_causal_mask
from genjax.models.vqvae import VQVAE
from genjax.objectives.vqvae import VQObjective
from genjax.samplers import var as var_sampler
from tests.numpy_init import numpy_variables

SCALES = (1, 2, 3)
K, D, CLASSES = 8, 4, 3
L = ms.sequence_length(SCALES)


@functools.lru_cache(maxsize=None)
def _setup():
  tokenizer = VQObjective(model=VQVAE(image_shape=(12, 12, 1), channels=8, res_hidden=4,
                                      num_res_blocks=1, code_dim=D, scales=SCALES),
                          num_codes=K)
  net = numpy_variables(tokenizer.model, jnp.zeros((1, 12, 12, 1)), scale=0.3)
  codebook = jnp.asarray(np.random.default_rng(0).normal(size=(K, D)), jnp.float32)
  model = VARTransformer(scales=SCALES, num_codes=K, dim=16, num_heads=2, num_layers=2,
                         num_classes=CLASSES)
  params = numpy_variables(model, jnp.zeros((1, L - 1, D)), jnp.zeros((1,), jnp.int32),
                           scale=0.5)
  return tokenizer, {'net': net}, {'codebook': codebook}, model, params


def _logits(tokens, y):
  _, s1_params, s1_state, _, params = _setup()  # outside the trace: its arrays are cached
  return _teacher_forced_logits(s1_params, s1_state, params, tokens, y)


@jax.jit
def _teacher_forced_logits(s1_params, s1_state, params, tokens, y):
  tokenizer, _, _, model, _ = _setup()
  inputs = ms.next_scale_inputs(tokens, s1_state['codebook'], SCALES,
                                tokenizer.phi_fn(s1_params['net']))
  return model.apply(params, inputs, y)


def test_the_mask_is_full_within_a_scale_and_causal_across_scales():
  mask = block_causal_mask(SCALES)
  assert mask.shape == (L, L)
  assert mask[1:5, 1:5].all() and mask[1:5, :1].all() and not mask[1:5, 5:].any()
  assert mask[5:, :].all() and not mask[0, 1:].any()


@pytest.mark.parametrize('k', [0, 1, 2])
def test_tokens_of_scales_from_k_on_never_change_the_logits_of_scales_up_to_k(k):
  rng = np.random.default_rng(k)
  tokens = jnp.asarray(rng.integers(0, K, (4, L)), jnp.int32)
  y = jnp.asarray([0, 1, 2, 3], jnp.int32)  # 3: the null class
  start = ms.scale_slices(SCALES)[k].start
  changed = tokens.at[:, start:].set(jnp.asarray(rng.integers(0, K, (4, L - start))))
  before, after = np.asarray(_logits(tokens, y)), np.asarray(_logits(changed, y))
  end = ms.scale_slices(SCALES)[k].stop
  np.testing.assert_array_equal(before[:, :end], after[:, :end])
  if end < L:  # the scales after k do see them
    assert np.abs(before[:, end:] - after[:, end:]).max() > 1e-3


def test_the_kv_cache_gives_the_masked_full_passs_logits_scale_by_scale():
  tokenizer, s1_params, s1_state, model, params = _setup()
  tokens = jnp.asarray(np.random.default_rng(5).integers(0, K, (3, L)), jnp.int32)
  y = jnp.asarray([2, 0, 1], jnp.int32)
  inputs = ms.next_scale_inputs(tokens, s1_state['codebook'], SCALES,
                                tokenizer.phi_fn(s1_params['net']))

  @jax.jit
  def both(params, inputs):
    state, cached = model.apply(params, 3, method='decode_init'), []
    for k, s in enumerate(ms.scale_slices(SCALES)):
      given = None if k == 0 else inputs[:, s.start - 1:s.stop - 1]
      logits, state = model.apply(params, state, given, k, y, 3, method='decode_scale')
      cached.append(logits)
    return model.apply(params, inputs, y), jnp.concatenate(cached, axis=1)

  full, cached = both(params, inputs)
  np.testing.assert_allclose(cached, full, atol=1e-5)


def _sample(**kw):
  tokenizer, s1_params, s1_state, model, params = _setup()
  kw.setdefault('y', jnp.asarray([0, 1, 2, 0, 1, 2], jnp.int32))
  return var_sampler.sample(model, params, tokenizer, s1_params, s1_state,
                            jax.random.PRNGKey(7), 6, **kw)


def test_cached_sampling_draws_the_naive_samplers_tokens_from_the_same_key():
  fast, naive = _sample(guidance=3.0), _sample(guidance=3.0, naive=True)  # both halves
  np.testing.assert_array_equal(fast[0], naive[0])
  np.testing.assert_allclose(fast[2], naive[2], atol=1e-5)
  np.testing.assert_allclose(fast[1], naive[1], atol=1e-5)


def test_a_samples_log_probs_sum_to_its_likelihood_and_its_f_hat_is_its_tokens():
  tokenizer, s1_params, s1_state, model, params = _setup()
  tokens, f_hat, logps = _sample(guidance=3.0)  # logps: the conditional model's, unguided
  y = jnp.asarray([0, 1, 2, 0, 1, 2], jnp.int32)
  logits = _logits(tokens, y)
  nll = -jnp.take_along_axis(jax.nn.log_softmax(logits), tokens[..., None], -1)[..., 0]
  np.testing.assert_allclose(-logps.sum(axis=1), nll.sum(axis=1), rtol=1e-5)
  np.testing.assert_allclose(f_hat, ms.f_hat_from_tokens(
      tokens, s1_state['codebook'], SCALES, tokenizer.phi_fn(s1_params['net'])), atol=1e-6)


def test_guidance_zero_is_the_unconditional_model():
  null = _sample(y=None)[0]
  np.testing.assert_array_equal(_sample(guidance=0.0)[0], null)
  assert not np.array_equal(_sample(guidance=3.0)[0], null)


def test_top_k_and_top_p_keep_exactly_the_tokens_they_name():  # the sampler's filter
  logits = jnp.log(jnp.asarray([[0.05, 0.5, 0.15, 0.3]]))
  kept = lambda **kw: np.isfinite(np.asarray(var_sampler.filter_logits(logits, **kw))) & (
      np.asarray(var_sampler.filter_logits(logits, **kw)) > -1e30)
  np.testing.assert_array_equal(kept(top_k=2), [[False, True, False, True]])
  np.testing.assert_array_equal(kept(top_p=0.7), [[False, True, False, True]])
  np.testing.assert_array_equal(kept(top_p=0.5), [[False, True, False, False]])
  np.testing.assert_array_equal(kept(top_p=0.81), [[False, True, True, True]])
  np.testing.assert_array_equal(kept(), [[True] * 4])


def test_guidance_ramped_over_the_scales_starts_as_the_conditional_model():
  # w_0 = 1 at the first scale: its tokens are the unguided conditional draws (same key).
  ramped, plain = _sample(guidance=3.0, ramp=True)[0], _sample(guidance=3.0)[0]
  np.testing.assert_array_equal(ramped[:, :1], _sample()[0][:, :1])
  # At the last scale w_k = w: the ramp differs from constant guidance only before it.
  assert not np.array_equal(ramped, plain)


def _parameter_count(model, inputs_shape, y_shape):
  shapes = jax.eval_shape(lambda: model.init(jax.random.PRNGKey(0), jnp.zeros(inputs_shape),
                                             jnp.zeros(y_shape, jnp.int32)))
  return sum(int(np.prod(s.shape)) for s in jax.tree.leaves(shapes))


def test_d16_has_vars_310m_parameters():
  """Tian et al. (2024): VAR-d16 has 310M parameters. The official build_vae_var(depth=16)
  has 310,283,520: per block qkv 1024 x 3072 (no bias) + q and v biases 2 x 1024 + 16
  attention scales + proj 1024^2 + 1024 + MLP 2 x 1024 x 4096 + 4096 + 1024 + AdaLN
  1024 x 6144 + 6144 (18,888,720 each, x16); class embedding 1001 x 1024, pos_start 1024,
  positions 680 x 1024, scale embedding 10 x 1024, word embedding 32 x 1024 + 1024, head
  AdaLN 1024 x 2048 + 2048, head 1024 x 4096 + 4096."""
  scales = (1, 2, 3, 4, 5, 6, 8, 10, 13, 16)
  model = VARTransformer(scales=scales, num_codes=4096, dim=1024, num_heads=16,
                         num_layers=16, num_classes=1000)
  count = _parameter_count(model, (1, ms.sequence_length(scales) - 1, 32), (1,))
  assert abs(count / 310e6 - 1) < 0.01
  assert count == 310_283_520
