"""The character model as math: causality by gradients over token embeddings, the cached
sampler's draws equal the naive one's when tempered and top-k filtered, a sample's
recorded log-probs sum to its teacher-forced log-likelihood, top-k draws only the k most
probable, near-zero temperature is greedy, and bits/char's standard error over windows."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from configs import char_lm as char_lm_config
from genjax.data import info_file
from genjax.errors import UserError
from genjax.families import char_lm
from genjax.models import autoregressive, pixels
from genjax.samplers import autoregressive as samplers
from genjax.training.family import StepContext

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
  return _canvas_of(tokens, K)


def _canvas_of(tokens, k):
  return pixels.canvas_from_codes(jnp.asarray(tokens)[:, None, :], k)


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


# What a trained model offers (`genjax.load`): sample, complete, the exact NLL of windows.

@pytest.fixture(scope='module')
def smoke_family(tmp_path_factory):
  """configs/char_lm.py:smoke built from its data and from the light info `genjax.load`
  reads back (the vocabulary, no held-out windows), with init params and a test batch."""
  c = char_lm_config.get_config('smoke')
  data = char_lm.FAMILY.data(c, 0, 1)
  family = char_lm.FAMILY.build(c, data.info)
  directory = str(tmp_path_factory.mktemp('info'))
  info_file.write(data.info, directory)
  light_info = info_file.read(directory)
  assert len(light_info.held_out.windows) == 0
  light = char_lm.FAMILY.build(c, light_info)
  params = family.training.init_params(jax.random.PRNGKey(0), data.train.batch(0))
  batch = next(iter(data.splits['test'](8, 0, 1, 8)))
  batch.pop('mask')
  return c, data, family, light, params, batch


def _nll(family, params, batch):
  score = jax.jit(lambda p, b, r: family.inference.likelihood.nll(p, b, r, StepContext()))
  return np.asarray(score(params, batch, jax.random.PRNGKey(0)))


def _sample(family, params, seed, num=4, **options):
  return family.inference.sample(params, jax.random.PRNGKey(seed), num, StepContext(),
                                 **{**family.inference.sample_options, **options})


def _complete(family, params, rng, prompts, **options):
  return family.inference.complete(params, rng, prompts, StepContext(),
                                   **{**family.inference.complete_options, **options})


def test_built_without_the_held_out_text_it_samples_completes_and_scores_the_same(
    smoke_family):
  c, _, family, light, params, batch = smoke_family
  assert family.inference.sample_options == light.inference.sample_options == {
      'temperature': 1.0, 'top_k': 0}
  assert family.inference.complete_options == {'temperature': 1.0, 'top_k': 0}
  assert list(_sample(light, params, 1)) == list(_sample(family, params, 1))
  rng = jax.random.PRNGKey(2)
  assert _complete(light, params, rng, c.eval.prompts) == _complete(family, params, rng,
                                                                    c.eval.prompts)
  np.testing.assert_array_equal(_nll(light, params, batch), _nll(family, params, batch))


def test_the_exact_nll_of_a_window_is_the_evals_bits_per_char(smoke_family):
  c, _, family, _, params, batch = smoke_family
  likelihood = family.inference.likelihood
  assert likelihood.exact and likelihood.unit == 'char' and likelihood.dims == c.data.context
  nats = _nll(family, params, batch)
  bits = family.reporting.eval_fn(params, batch, jax.random.PRNGKey(0), StepContext())
  np.testing.assert_allclose(nats / (likelihood.dims * math.log(2)), bits['bits_per_char'],
                             rtol=1e-6)


def test_samples_and_completions_follow_their_options(smoke_family):
  c, data, family, _, params, _ = smoke_family
  vocabulary, window = data.info.held_out.vocabulary, c.data.context
  model = autoregressive.make_model(c.model, (1, window, 1), 0, num_codes=len(vocabulary))
  logits_of = lambda texts: np.asarray(model.apply(params, _canvas_of(
      np.stack([vocabulary.encode(t) for t in texts]).astype(np.int32),
      len(vocabulary))))[:, 0]
  texts = _sample(family, params, 1)
  assert len(texts) == 4 and all(len(t) == window for t in texts)
  assert list(_sample(family, params, 1)) == list(texts)  # a function of the key
  assert list(_sample(family, params, 3)) != list(texts)
  for options in (dict(temperature=1e-4), dict(top_k=1)):  # greedy, both ways
    greedy = _sample(family, params, 1, **options)
    ids = np.stack([vocabulary.encode(t) for t in greedy])
    np.testing.assert_array_equal(ids, logits_of(greedy).argmax(-1))
  ids = np.stack([vocabulary.encode(t) for t in texts])
  assert not np.array_equal(ids, logits_of(texts).argmax(-1))
  two = _sample(family, params, 1, top_k=2)
  logits = logits_of(two)
  drawn = np.take_along_axis(logits, np.stack([vocabulary.encode(t) for t in two])[..., None]
                             .astype(int), -1)
  rank = (logits > drawn).sum(-1)
  assert rank.max() == 1 and (rank == 1).any()
  # complete: the prompts kept, continued to the window; the figures' draws, reused.
  rng = jax.random.PRNGKey(5)
  completed = _complete(family, params, jax.random.fold_in(rng, 0), c.eval.prompts,
                        temperature=c.eval.temperatures[0], top_k=c.eval.top_k)
  assert all(t.startswith(p) and len(t) == window for t, p in zip(completed, c.eval.prompts))
  artifacts = family.reporting.artifacts_fn(params, rng, StepContext())
  assert completed == list(artifacts['sample_text'][0])
  greedy = _complete(family, params, rng, ['the ', 'the '], temperature=1e-4)
  assert greedy[0] == greedy[1]
  with pytest.raises(UserError, match='shorter than 32'):
    _complete(family, params, rng, ['x' * window])
