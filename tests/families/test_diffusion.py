"""The diffusion family's configs, the checks it makes before anything compiles, and its
colour smoke run. (Its likelihood is also checked against the bound tool, genjax.tools.)"""

import itertools
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from configs import diffusion as diffusion_config
from genjax import config as config_lib
from genjax.data import info_file
from genjax.diffusion import schedules as sch
from genjax.families import diffusion
from genjax.models.unet import make_model
from genjax.objectives import diffusion as objectives
from genjax.samplers import diffusion as samplers
from genjax.tools import bound
from genjax.training import exported, restore
from genjax.training.family import StepContext

VARIANTS = ['', 'smoke', 'cpu', 'mnist', 'cosine', 'v', 'x0', 'cond', 'fixedsmall', 'cifar10']


@pytest.mark.parametrize('a,b', list(itertools.combinations(VARIANTS, 2)))
def test_variants_validate(a, b):
  c = diffusion_config.get_config(','.join(filter(None, (a, b))))
  config_lib.validate(c, diffusion.schema(), ranges=diffusion.RANGES)
  assert c.data.binarize == 'none' and c.ema_decay > 0


def test_build_refuses_binarized_data_and_unknown_choices(digits_info):
  c = diffusion_config.get_config('smoke')
  c.unlock()
  c.data.binarize = 'dynamic'
  with pytest.raises(ValueError, match='binarize=none'):
    diffusion.build(c, digits_info)
  c.data.binarize = 'none'
  c.objective.schedule = 'quadratic'
  with pytest.raises(ValueError, match='schedule'):
    diffusion.build(c, digits_info)


def test_signature_names_model_and_objective(digits_info):
  family = diffusion.build(diffusion_config.get_config('smoke,cosine'), digits_info)
  assert family.name == 'diffusion'
  assert family.signature['objective']['schedule'] == 'cosine'
  assert family.signature['image_shape'] == [8, 8, 1]


def test_the_cifar10_variant_is_ho_et_als_run():
  c = diffusion_config.get_config('cifar10')
  assert (c.data.name, c.data.random_flip, c.batch_size, c.total_steps) == (
      'cifar10', True, 128, 800000)
  assert (c.optimizer.learning_rate, c.optimizer.warmup_steps, c.optimizer.grad_clip_norm,
          c.ema_decay) == (2e-4, 5000, 1.0, 0.9999)
  o = c.objective
  assert (o.schedule, o.timesteps, o.beta_start, o.beta_end, o.prediction, o.variance) == (
      'linear', 1000, 1e-4, 0.02, 'eps', 'fixedlarge')
  assert c.eval.final_nll_timesteps == 0 and c.eval.test_examples == 0  # exact, whole set


# Inference: what `genjax.load` offers of a diffusion model.


def _built_smoke(tmp_path=None, variant='smoke'):
  """The smoke family, its data, init params (eval params) and context; with tmp_path,
  also the family built from the data description a run saves (no test images)."""
  config = diffusion_config.get_config(variant)
  data = diffusion.FAMILY.data(config, 0, 1)
  family = diffusion.build(config, data.info)
  params = family.training.init_params(jax.random.PRNGKey(0), data.train.batch(0))
  light = None
  if tmp_path is not None:
    info_file.write(data.info, str(tmp_path))
    light = diffusion.build(config, info_file.read(str(tmp_path)))
  return config, data, family, params, StepContext(), light


def _jitted_nll(family, context, **options):
  """The family's nll under jit, its options static, as `TrainedModel` compiles it."""
  nll = family.inference.likelihood.nll
  return jax.jit(lambda params, batch, rng: nll(params, batch, rng, context, **options))


def _test_batch(data, n):
  batch = next(iter(data.splits['test'](n, 0, 1, n)))
  batch.pop('mask')
  return batch


def test_inference_built_without_the_data_is_the_same(tmp_path):
  config, data, family, params, context, light = _built_smoke(tmp_path)
  assert light.reporting.artifacts_fn is None and family.reporting.artifacts_fn is not None
  assert light.inference.sample_options == family.inference.sample_options == {
      'steps': config.eval.ddim_steps, 'eta': config.eval.ddim_eta, 'label': None,
      'guidance': 1.0}
  key = jax.random.PRNGKey(3)
  for options in ({}, {'label': 2, 'guidance': 3.0, 'steps': 3}):
    np.testing.assert_array_equal(light.inference.sample(params, key, 4, context, **options),
                                  family.inference.sample(params, key, 4, context, **options))
  batch = _test_batch(data, 8)
  a, b = (_jitted_nll(f, context, timesteps=2)(params, batch, key) for f in (family, light))
  np.testing.assert_array_equal(a, b)


def test_the_bound_is_the_evals_and_the_bound_tools(tmp_path):
  """nll in nats is the eval's vb_nats (its bits/dim at dims = H*W*C), and bits/dim as
  `genjax.tools.bound` reports them on a run of these params, for the same images, terms
  and seed."""
  config, data, family, params, context, _ = _built_smoke()
  likelihood = family.inference.likelihood
  assert not likelihood.exact and likelihood.dims == 8 * 8 * 1
  assert likelihood.options == {'timesteps': diffusion.SCORE_TIMESTEPS}
  batch, rng = _test_batch(data, 16), jax.random.PRNGKey(5)
  # The final eval's exact sum over all T terms, and the periodic one's estimate from 2.
  assert (config.eval.final_nll_timesteps, config.eval.nll_timesteps) == (0, 2)
  for evaluate, timesteps in ((family.reporting.final_eval_fn, 0),
                              (family.reporting.eval_fn, 2)):
    out = evaluate(params, batch, rng, context)
    nats = np.asarray(_jitted_nll(family, context, timesteps=timesteps)(
        params, batch, jax.random.split(rng)[1]))
    np.testing.assert_allclose(nats, out['vb_nats'], rtol=1e-6)
    np.testing.assert_allclose(nats / (likelihood.dims * math.log(2)), out['bpd'], rtol=1e-6)

  # The bound tool on a run of the same params (an export: the tool reads it as a workdir),
  # its batches of 100 test images, key fold_in(seed, i), as TrainedModel.score draws them.
  host = jax.tree.map(np.asarray, params)
  run = tmp_path / 'run'
  exported.write(restore.SavedRun(
      workdir=str(run), config=config, step=0, signature=family.signature, params=host,
      ema_params=None, model_state=None, upstream=None, finished=True), str(run),
                 info=data.info)
  num, seed = 100, 4  # one batch: each batch shape is a compile of the bound
  report = bound.run(str(run), num_examples=num, timesteps=2, seed=seed,
                     out=str(tmp_path / 'bound.json'), log=lambda *_: None)
  nll = _jitted_nll(family, context, timesteps=2)
  ours = np.concatenate([
      np.asarray(nll(params, {k: v for k, v in b.items() if k != 'mask'},
                     jax.random.fold_in(jax.random.PRNGKey(seed), i)))[b['mask'] > 0]
      for i, b in enumerate(data.splits['test'](100, 0, 1, num))])
  assert len(ours) == num and report['num_examples'] == num and report['T'] == 20
  np.testing.assert_allclose(ours.mean() / (likelihood.dims * math.log(2)), report['bpd'],
                             rtol=1e-5)


def test_sample_options_are_ddim_with_guidance_as_the_model_computes_it():
  # x0-prediction, and init params jittered: an untrained eps-model's samples saturate to
  # 0 and 1 whatever the options, an x0-model's do not.
  config, data, family, params, context, _ = _built_smoke(variant='smoke,x0')
  leaves, tree = jax.tree.flatten(params)
  keys = jax.random.split(jax.random.PRNGKey(9), len(leaves))
  params = jax.tree.unflatten(tree, [v + 0.1 * jax.random.normal(key, v.shape)
                                     for v, key in zip(leaves, keys)])
  sample = lambda key=1, **options: np.asarray(family.inference.sample(
      params, jax.random.PRNGKey(key), 4, context, **options))
  k, o, e = data.info.num_classes, config.objective, config.eval
  model, schedule = make_model(config.model, k), sch.schedule_of(o)
  net = lambda x, t, y: model.apply(params, x, t, y)

  def direct(key, y, w, steps, eta):
    noise_rng, step_rng = jax.random.split(jax.random.PRNGKey(key))
    x_T = jax.random.normal(noise_rng, (4, 8, 8, 1))
    denoise = (samplers.guided(net, jnp.asarray(y), k, w) if y is not None
               else lambda x, t: net(x, t, jnp.full((4,), k)))
    return np.asarray(objectives.to_unit_interval(samplers.ddim_sample(
        denoise, schedule, x_T, step_rng, steps, eta, o.prediction)))

  # The defaults: unguided DDIM of p(x) on the config's steps and eta, as before.
  default = sample()
  np.testing.assert_allclose(default, direct(1, None, 0.0, e.ddim_steps, e.ddim_eta),
                             atol=1e-5)
  np.testing.assert_array_equal(sample(), default)
  assert not np.array_equal(sample(key=2), default)
  # Class 3 guided at w = 2, on 3 steps with eta = 0.5: the model's own computation.
  chosen = sample(label=3, guidance=2.0, steps=3, eta=0.5)
  np.testing.assert_allclose(chosen, direct(1, [3] * 4, 2.0, 3, 0.5), atol=1e-5)
  np.testing.assert_array_equal(sample(label=[3, 3, 3, 3], guidance=2.0, steps=3, eta=0.5),
                                chosen)
  # Each option on its own changes the samples.
  for option in ({'steps': 3}, {'eta': 1.0}, {'label': 3}, {'label': 3, 'guidance': 4.0}):
    assert not np.allclose(sample(**option), default if 'guidance' not in option
                           else sample(label=3)), option
  for bad in ({'steps': o.timesteps + 1}, {'label': k}, {'guidance': 2.0}):
    with pytest.raises(ValueError):
      sample(**bad)
