"""MaskGIT's parallel decoding: the reveal schedule, guidance, and a decoding that reveals
exactly the scheduled codes at each step, the most confident first, and never changes a
revealed one."""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from genjax.errors import OptionError
from genjax.models.bidirectional_transformer import BidirectionalTransformer
from genjax.samplers import maskgit


def test_256_codes_in_8_steps_reveal_chang_et_als_counts():
  np.testing.assert_array_equal(maskgit.reveals(256, 8), [5, 15, 24, 31, 39, 45, 48, 49])
  np.testing.assert_array_equal(maskgit.masked_after_each_step(256, 8),
                                [251, 236, 212, 181, 142, 97, 49, 0])


@pytest.mark.parametrize('schedule', ('cosine', 'linear'))
def test_every_step_count_reveals_a_positive_number_summing_to_n(schedule):
  for n in (1, 2, 4, 10, 49, 64):
    for steps in range(1, n + 1):
      counts = maskgit.reveals(n, steps, schedule)
      assert len(counts) == steps and counts.min() >= 1 and counts.sum() == n, (n, steps)
  np.testing.assert_array_equal(maskgit.reveals(10, 5, 'linear'), [2, 2, 2, 2, 2])


def test_a_step_count_outside_1_to_n_is_refused_in_one_line():
  for steps in (0, -1, 17):
    with pytest.raises(OptionError, match=r'steps between 1 and 16') as e:
      maskgit.masked_after_each_step(16, steps)
    assert '\n' not in str(e.value)


N, K, CLASSES = 16, 8, 3


# One decoding compiled for every test: 6 sequences in 5 steps at guidance 1 (the choice
# temperature is an argument, not a constant of the program).
STEPS, NUM, GUIDANCE = 5, 6, 1.0
LABELS = jnp.arange(NUM) % CLASSES


@pytest.fixture(scope='module')
def model_and_params():
  model = BidirectionalTransformer(num_tokens=N, num_codes=K, dim=16, num_heads=2,
                                   num_layers=1, num_classes=CLASSES)
  tokens = jnp.full((1, N), K, jnp.int32)
  return model, jax.jit(model.init)(jax.random.PRNGKey(0), tokens, jnp.zeros((1,), jnp.int32))


def _decode(model, params, seed, **options):
  return maskgit.sample(model, params, jax.random.PRNGKey(seed), NUM, LABELS, steps=STEPS,
                        guidance=GUIDANCE, **options)


@functools.partial(jax.jit, static_argnums=0)
def _logits(model, params, tokens):
  """The model's logits given LABELS and given the null class, and the sampler's at
  guidance 0, 2 and GUIDANCE, of tokens [NUM, N]: one program for every test."""
  return {'conditional': model.apply(params, tokens, LABELS),
          'unconditional': model.apply(params, tokens, None),  # the null class
          **{f'w={w}': maskgit.model_logits(model, params, tokens, LABELS, w)
             for w in (0.0, 2.0, GUIDANCE)}}


def test_guidance_zero_is_the_conditional_model_and_w_extrapolates_from_the_null_class(
    model_and_params):
  model, params = model_and_params
  tokens = jax.random.randint(jax.random.PRNGKey(1), (NUM, N), 0, K + 1)
  logits = _logits(model, params, tokens)
  conditional, unconditional = logits['conditional'], logits['unconditional']
  np.testing.assert_array_equal(logits['w=0.0'], conditional)
  np.testing.assert_array_equal(maskgit.guided_logits(conditional, unconditional, 0.0),
                                conditional)
  assert not np.allclose(conditional, unconditional)
  # (Up to rounding: the guided logits come from one pass over both batches.)
  np.testing.assert_allclose(logits['w=2.0'], 3 * conditional - 2 * unconditional, rtol=1e-5,
                             atol=1e-5)


def test_each_step_reveals_the_scheduled_codes_and_never_changes_a_revealed_one(
    model_and_params):
  model, params = model_and_params
  steps, num = STEPS, NUM
  out = _decode(model, params, 2)
  canvases, predictions = np.asarray(out.canvases), np.asarray(out.predictions)
  assert canvases.shape == predictions.shape == (steps, num, N)
  masked = (canvases == K).sum(axis=-1)  # [T, num]
  np.testing.assert_array_equal(masked, np.repeat(maskgit.masked_after_each_step(N, steps)[
      :, None], num, axis=1))
  before = np.full((num, N), K)
  for t in range(steps):
    revealed = before != K
    np.testing.assert_array_equal(canvases[t][revealed], before[revealed])
    np.testing.assert_array_equal(predictions[t][revealed], before[revealed])
    shown = canvases[t] != K
    np.testing.assert_array_equal(canvases[t][shown], predictions[t][shown])
    before = canvases[t]
  np.testing.assert_array_equal(np.asarray(out.codes), canvases[-1])
  assert np.all((canvases[-1] >= 0) & (canvases[-1] < K))


def test_without_choice_noise_the_first_step_reveals_the_most_confident_codes(
    model_and_params):
  model, params = model_and_params
  out = _decode(model, params, 3, choice_temperature=0.0)
  logits = _logits(model, params, jnp.full((NUM, N), K, jnp.int32))[f'w={GUIDANCE}']
  drawn = np.asarray(out.predictions[0])
  logp = np.take_along_axis(np.asarray(jax.nn.log_softmax(logits)), drawn[..., None], -1)[..., 0]
  revealed = np.asarray(out.canvases[0]) != K
  assert revealed.sum() == NUM * maskgit.reveals(N, STEPS)[0]
  for row in range(NUM):
    assert logp[row][revealed[row]].min() >= logp[row][~revealed[row]].max()


def test_the_sampler_refuses_bad_steps_and_temperatures_in_one_line(model_and_params):
  model, params = model_and_params
  with pytest.raises(OptionError, match='steps between 1 and 16'):
    maskgit.sample(model, params, jax.random.PRNGKey(0), 2, None, steps=N + 1)
  with pytest.raises(OptionError, match='temperature=0.0 must be positive'):
    maskgit.sample(model, params, jax.random.PRNGKey(0), 2, None, temperature=0.0)
