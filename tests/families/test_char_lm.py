"""The character model as math: causality by gradients over token embeddings, the cached
sampler's draws equal the naive one's when tempered and top-k filtered, a sample's
recorded log-probs sum to its teacher-forced log-likelihood, top-k draws only the k most
probable, near-zero temperature is greedy, and bits/char's standard error over windows."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from genjax.families import char_lm
from genjax.models import autoregressive, pixels
from genjax.samplers import autoregressive as samplers

K, T = 11, 12  # characters, window
SHAPE = (1, T, 1)


@pytest.fixture(scope='module')
def model_and_params():
  m = char_lm.schema().model
  m.update(dim=16, num_heads=2, num_layers=2)
  model = autoregressive.make_model(m, SHAPE, 0, num_codes=K)
  params = jax.jit(model.init)(jax.random.PRNGKey(0), jnp.zeros((1,) + SHAPE))
  return model, params


def _canvas(tokens):
  return pixels.canvas_from_codes(jnp.asarray(tokens)[:, None, :], K)


@pytest.mark.slow
def test_logits_at_t_depend_on_the_tokens_before_t_only(model_and_params):
  model, params = model_and_params
  tokens = np.random.default_rng(0).integers(0, K, (1, T))
  f = model.apply(params, _canvas(tokens), method='features')  # [1, 1, T, D]
  v = jax.random.normal(jax.random.PRNGKey(1), (K,))
  out = lambda f: model.apply(params, f, method='logits_from_features')[0, 0] @ v  # [T]
  jac = jax.jit(jax.jacrev(out))(f)[:, 0, 0]  # [t, s, D]: d out[t] / d embedding[s]
  norms = np.asarray(jnp.linalg.norm(jac, axis=-1))
  after = np.triu(np.ones((T, T), bool))  # s >= t
  assert np.all(norms[after] == 0.0)
  assert np.all(norms[~after] > 0.0)  # every earlier token is read
  # The same with the discrete tokens: changing token s leaves logits at t <= s alone.
  changed = tokens.copy()
  changed[0, 5] = (changed[0, 5] + 1) % K
  logits = np.asarray(jax.jit(model.apply)(params, _canvas(np.concatenate([tokens, changed]))))
  moved = np.abs(logits[1, 0] - logits[0, 0]).max(-1)
  assert np.all(moved[:6] == 0.0) and np.all(moved[6:] > 0.0)


def _prompted(model, params, naive, **kw):
  rng = np.random.default_rng(2)
  given = _canvas(rng.integers(0, K, (6, T)))
  lengths = jnp.asarray([[0], [1], [3], [3], [5], [11]])  # prompts of several lengths
  canvas, logps = samplers.sample(model, params, jax.random.PRNGKey(3), SHAPE, 6, None,
                                  given, lengths, naive, **kw)
  return np.asarray(pixels.codes_from_canvas(canvas, K))[:, 0], np.asarray(logps), given


@pytest.mark.slow
def test_cached_draws_are_the_naive_ones_and_log_probs_sum_to_the_likelihood(
    model_and_params):
  model, params = model_and_params
  tempered = dict(temperature=0.7, top_k=4)
  fast, fast_logp, given = _prompted(model, params, False, **tempered)
  naive, naive_logp, _ = _prompted(model, params, True, **tempered)
  np.testing.assert_array_equal(fast, naive)
  np.testing.assert_allclose(fast_logp, naive_logp, atol=1e-5)
  prompt = np.asarray(pixels.codes_from_canvas(given, K))[:, 0]
  for row, n in enumerate([0, 1, 3, 3, 5, 11]):  # the prompts are kept
    np.testing.assert_array_equal(fast[row, :n], prompt[row, :n])
  # The recorded log-probs are the model's own (temperature 1, unfiltered): they sum to
  # the log-likelihood of the sample from one teacher-forced pass.
  likelihood = np.asarray(char_lm.char_log_probs(model, params, jnp.asarray(fast)))
  np.testing.assert_allclose(fast_logp, likelihood, atol=1e-5)
  np.testing.assert_allclose(fast_logp.sum(1), likelihood.sum(1), rtol=1e-5)


@pytest.mark.slow
def test_top_k_draws_only_the_k_most_probable_and_cold_draws_are_greedy(model_and_params):
  model, params = model_and_params
  draw = lambda **kw: np.asarray(pixels.codes_from_canvas(samplers.sample(
      model, params, jax.random.PRNGKey(4), SHAPE, 64, **kw)[0], K))[:, 0]
  tokens = draw(top_k=2)
  logits = np.asarray(model.apply(params, _canvas(tokens)))[:, 0]  # [64, T, K]
  drawn = np.take_along_axis(logits, tokens[..., None], -1)
  rank = (logits > drawn).sum(-1)  # how many characters were more probable
  assert rank.max() == 1 and (rank == 1).any()  # the top 2, both of them used
  greedy = draw(temperature=1e-4)
  logits = np.asarray(model.apply(params, _canvas(greedy)))[:, 0]
  np.testing.assert_array_equal(greedy, logits.argmax(-1))


def test_bits_per_char_standard_error_is_over_windows():
  bits = np.asarray([2.0, 2.5, 1.5, 3.0, 2.2])
  out = char_lm.bits_summary({'bits_per_char': bits.mean(),
                              'bits_per_char_squared': np.mean(bits ** 2)}, len(bits))
  assert out['bits_per_char'] == pytest.approx(bits.mean())
  assert out['bits_per_char_se'] == pytest.approx(bits.std(ddof=1) / math.sqrt(len(bits)))
  assert out['nats_per_char'] == pytest.approx(bits.mean() * math.log(2.0))
