"""The flow-matching family: its configs, its smoke run learning and resuming through the
loop, its samples integrated with time fed to the U-Net as 999 t, and what `genjax.load`
offers of it."""

import json
import shutil

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from configs import diffusion as diffusion_config
from configs import flow_matching as fm_config
from genjax import config as config_lib
from genjax.data import info_file
from genjax.errors import UserError
from genjax.families import flow_matching
from genjax.models.unet import make_model
from genjax.training.loop import train_and_evaluate
from genjax.training.restore import load_run
from tests.families.run_config import unlocked
from tests.smoke_runs import trained


@pytest.mark.parametrize('arg', ['', 'smoke', 'cpu', 'cond', 'logit_normal', 'cifar10',
                                 'cpu,cond,logit_normal'])
def test_every_variant_validates(arg):
  c = fm_config.get_config(arg)
  config_lib.validate(c, flow_matching.schema(), ranges=flow_matching.RANGES)
  assert c.data.binarize == 'none' and c.ema_decay > 0


def test_the_cpu_variant_is_the_ddpm_cpu_variants_network_and_run():
  ours, ddpm = fm_config.get_config('cpu'), diffusion_config.get_config('cpu')
  assert ours.model.to_dict() == ddpm.model.to_dict()
  for field in ('batch_size', 'total_steps', 'ema_decay', 'optimizer'):
    assert ours[field] == ddpm[field], field


def test_the_cifar10_variant_is_the_torchcfm_recipe():
  c = fm_config.get_config('cifar10')
  m = c.model
  assert (m.channels, m.channel_mults, m.num_res_blocks, m.attn_resolutions, m.dropout) == (
      128, (1, 2, 2, 2), 2, (16,), 0.1)
  assert (c.optimizer.name, c.optimizer.learning_rate, c.optimizer.warmup_steps,
          c.optimizer.grad_clip_norm, c.ema_decay, c.batch_size, c.total_steps) == (
              'adam', 2e-4, 5000, 1.0, 0.9999, 128, 400000)
  assert (c.objective.sigma_min, c.eval.solver, c.data.name) == (0.0, 'adaptive', 'cifar10')


@pytest.mark.slow
def test_the_smoke_run_learns_and_resumes_to_the_same_params(tmp_path):
  run = trained('flow_matching')
  rows = [json.loads(line) for line in open(run.workdir / 'metrics.jsonl')]
  test = {r['step']: r['loss'] for r in rows if r['split'] == 'test'}
  assert sorted(test) == [4, 8] and test[8] < 0.97 * test[4], test  # one eval key: it learns
  final = json.loads((run.workdir / 'final_metrics.json').read_text())
  assert final['samples_nfe'] == 4  # 4 Euler steps

  # Stopped after step 4 (its step-8 checkpoint gone), then trained to the end again: the
  # loop rebuilds the family, restores step 4 into its state and takes the same steps.
  resumed = tmp_path / 'resumed'
  shutil.copytree(run.workdir, resumed)
  shutil.rmtree(resumed / 'checkpoints' / '8')
  (resumed / 'final_metrics.json').unlink()
  train_and_evaluate(flow_matching.FAMILY, fm_config.get_config('smoke'), str(resumed))
  a, b = load_run(str(run.workdir)), load_run(str(resumed))
  assert a.step == b.step == 8
  jax.tree.map(np.testing.assert_array_equal, (a.params, a.ema_params),
               (b.params, b.ema_params))
  run.assert_unchanged()


@pytest.mark.slow
def test_the_steps_figure_is_euler_with_time_fed_as_999_t():
  run = trained('flow_matching')
  saved = load_run(str(run.workdir))
  artifacts = np.load(sorted((run.workdir / 'artifacts').glob('*.npz'))[-1])
  grid, noise = artifacts['step_grid'], artifacts['step_grid_noise']
  assert list(artifacts['step_grid_nfe'][:-1]) == [1, 2, 4, 8]  # Euler; adaptive last
  unet = make_model(saved.config.model, 0)
  apply = jax.jit(unet.apply)
  v = lambda x, s: apply(saved.ema_params, x, jnp.full((len(x),), s))
  to01 = lambda x: np.clip((np.asarray(x) + 1) / 2, 0, 1)
  # One Euler step, x1 = x0 + v(x0, 0); two, through v(x_1/2, 1/2) read as time 499.5.
  np.testing.assert_allclose(grid[0], to01(noise + v(noise, 0.0)), atol=1e-5)
  half = noise + 0.5 * v(noise, 0.0)
  np.testing.assert_allclose(grid[1], to01(half + 0.5 * v(half, 499.5)), atol=1e-5)
  # Time read as 0.5 instead gives another image, by far more than that tolerance.
  assert np.abs(grid[1] - to01(half + 0.5 * v(half, 0.5))).max() > 2e-4


def test_inference_takes_the_solver_options_and_refuses_others_in_one_line(tmp_path):
  config = fm_config.get_config('smoke,cond')
  data = flow_matching.FAMILY.data(config, 0, 1)
  info_file.write(data.info, str(tmp_path))
  family = flow_matching.build(config, info_file.read(str(tmp_path)))  # as genjax.load does
  inference = family.inference
  assert inference.sample_options == {'steps': 4, 'solver': 'euler', 'noise': None,
                                      'label': None, 'guidance': 0.0}
  assert inference.likelihood.exact and inference.likelihood.dims == 64
  assert inference.likelihood.options == {'divergence': 'hutchinson', 'rtol': 1e-3,
                                          'atol': 1e-3}
  assert 'ODE likelihood' in inference.likelihood.description
  for bad in ({'solver': 'rk4'}, {'steps': 0}, {'steps': 1.5}, {'label': 10},
              {'guidance': 2.0}, {'noise': np.zeros((3, 8, 8, 1))}):
    with pytest.raises(UserError) as e:
      inference.sample(None, jax.random.PRNGKey(0), 2, None, **bad)
    assert '\n' not in str(e.value), bad
  for bad in ({'divergence': 'trace'}, {'rtol': 0.0}):
    with pytest.raises(UserError, match=next(iter(bad))):
      inference.likelihood.nll(None, {}, None, None, **bad)


def test_the_likelihood_of_the_untrained_flow_is_the_normal_density_of_the_binned_pixels():
  # The U-Net's last layer starts at zero: v = 0, the flow is the identity, and
  # -log p(y) is the standard normal's at the dequantised y, within 1/255 of x = 2k/255 - 1.
  config = unlocked(fm_config, eval=dict(final_likelihood=True))
  data = flow_matching.FAMILY.data(config, 0, 1)
  family = flow_matching.build(config, data.info)
  batch = {'image': jnp.asarray(data.train.batch(0)['image'][:4])}
  params = jax.jit(family.training.init_params)(jax.random.PRNGKey(0), batch)
  # (`genjax.load`'s log_prob is `nll`, the same bound from the same key.)
  final_eval = jax.jit(lambda p, b, rng: family.reporting.final_eval_fn(p, b, rng, None))
  out = final_eval(params, batch, jax.random.PRNGKey(1))
  nats = out['nll_nats']
  x = np.asarray(2.0 * batch['image'] - 1.0).reshape(4, -1)
  dims = x.shape[1]
  normal = 0.5 * (x ** 2).sum(-1) + 0.5 * dims * np.log(2 * np.pi) + dims * np.log(127.5)
  np.testing.assert_allclose(nats, normal, atol=np.abs(x).sum(-1).max() / 255 + dims / 255 ** 2)
  assert np.all(np.asarray(nats) != normal)  # y is not x: it was dequantised
  # In bits/dim too, and the solve's NFE.
  np.testing.assert_allclose(out['bpd'], nats / (dims * np.log(2)), rtol=1e-6)
  assert np.all(out['likelihood_nfe'] >= 7) and out['loss'].shape == (4,)
