"""genjax vs PyTorch Glow training on this CPU, side by side, in one run.

Command (from the repository root; the .txt beside the JSON is this output, through tee):

  .venv/bin/python -m benchmarks.glow_train \
      --out results/benchmarks/glow_train.json | tee results/benchmarks/glow_train.txt

Both sides train the Glow of configs/glow.py:cpu (2 levels of 4 steps of ActNorm, the LU
1x1 convolution and an affine coupling with a 64-channel network; a split prior and a
learned top Gaussian) with Adam 1e-3, 1,000 warmup steps and clipping at 50, on batches of
64 images dequantised with fresh noise every step, the loss in bits/dim. genjax runs the
loop's own step (benchmarks/loop_step.py; ActNorm's data-dependent init in its initial
state); PyTorch benchmarks/torch_glow.py with the data preloaded. Parameter counts per
kind of layer are checked equal; `--check` also checks that the torch Glow with genjax's
(perturbed) parameters gives genjax's loss, gradients and ActNorm init on one batch with
the same noise. Timed: examples/s, interleaved repeats; the ratio is of the medians.
Levers tried: docs/results/performance.md.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from benchmarks import loop_step
from benchmarks.harness import load_images
from configs import glow as glow_config
from genjax.families import glow
from genjax.training.assemble import assemble
from genjax.training.family import StepContext

KINDS = ('actnorm', 'invconv1x1', 'coupling', 'split_prior', 'top')
GENJAX_KINDS = (('layers_0', 'actnorm'), ('layers_1', 'invconv1x1'), ('layers_2', 'coupling'),
                ('split_prior', 'split_prior'), ('top_', 'top'))
TORCH_KINDS = (('layers.0.', 'actnorm'), ('layers.1.', 'invconv1x1'),
               ('layers.2.', 'coupling'), ('split_priors.', 'split_prior'), ('top_', 'top'))


def counts_by_kind(named_sizes, parts) -> dict[str, int]:
  """Parameter counts per kind of layer, from (name, size) pairs and (part, kind) rules."""
  out = dict.fromkeys(KINDS, 0)
  for name, size in named_sizes:
    kind = next((kind for part, kind in parts if part in name), None)
    if kind is None:
      raise ValueError(f'unclassified parameter {name}')
    out[kind] += int(size)
  return out


def genjax_counts(params) -> dict[str, int]:
  leaves = jax.tree_util.tree_flatten_with_path(params)[0]
  return counts_by_kind(((jax.tree_util.keystr(path), p.size) for path, p in leaves),
                        GENJAX_KINDS)


def torch_implements(config) -> dict:
  o = config.optimizer
  return {'data.binarize': (config.data.binarize, 'none'),
          'ema_decay': (config.ema_decay, 0.0), 'optimizer.name': (o.name, 'adam'),
          'optimizer.beta1': (o.get('beta1', 0.9), 0.9),
          'optimizer.beta2': (o.get('beta2', 0.999), 0.999),
          'optimizer.weight_decay': (o.weight_decay, 0.0)}


def torch_side(config, images01, threads):
  from benchmarks import torch_glow  # pylint: disable=g-import-not-at-top
  m, opt = config.model, config.optimizer
  return torch_glow.TorchTrain(images01, batch_size=config.batch_size, lr=opt.learning_rate,
                               warmup_steps=opt.warmup_steps, grad_clip_norm=opt.grad_clip_norm,
                               levels=m.levels, steps=m.steps, hidden=m.hidden, scale=m.scale,
                               threads=threads)


def torch_named(params, config) -> dict[str, np.ndarray]:
  """genjax's Glow params -> torch_glow.Glow's state_dict entries (NCHW, [out, in, kh, kw]
  kernels). Linear in the params, so it maps their gradients alike."""
  p, m = params['params'], config.model
  conv = lambda c: {'weight': np.transpose(np.asarray(c['kernel']), (3, 2, 0, 1)),
                    'bias': np.asarray(c['bias'])}
  out = {}
  for i in range(m.levels):
    for k in range(m.steps):
      s, t = p[f'level{i}_step{k}'], f'level_steps.{i}.{k}.layers.'
      for name in ('loc', 'log_scale'):
        out[f'{t}0.{name}'] = np.asarray(s['layers_0'][name])
      for name in ('lower', 'upper', 'log_s'):
        out[f'{t}1.{name}'] = np.asarray(s['layers_1'][name])
      net = s['layers_2']['CouplingNet_0']
      for j, name in ((0, 'Conv_0'), (2, 'Conv_1'), (4, 'zero_init')):
        out.update({f'{t}2.net.{j}.{w}': v for w, v in conv(net[name]).items()})
  for i in range(m.levels - 1):
    out.update({f'split_priors.{i}.{w}': v
                for w, v in conv(p[f'split_prior{i}']['Conv_0']).items()})
  for name in ('top_mean', 'top_log_std'):
    out[name] = np.transpose(np.asarray(p[name]), (2, 0, 1))
  return out


def check_same_loss(config, images01: np.ndarray, noise: float = 0.05,
                    tol: float = 1e-4) -> dict:
  """The torch Glow with genjax's (perturbed) parameters gives genjax's loss and gradients
  on one batch with the same dequantisation noise; torch's ActNorm init on genjax's first
  batch gives genjax's. Raises AssertionError if not; returns the differences."""
  import torch  # pylint: disable=g-import-not-at-top
  from benchmarks import torch_glow  # pylint: disable=g-import-not-at-top
  training = assemble(glow.FAMILY, config).family.training
  m, b = config.model, config.batch_size
  batch = {'image': jnp.asarray(images01[:b])}
  nchw = lambda a: torch.as_tensor(np.array(a)).permute(0, 3, 1, 2).contiguous()
  model = torch_glow.Glow(tuple(nchw(images01[:1]).shape[1:]), m.levels, m.steps, m.hidden,
                          m.scale)

  # ActNorm's data-dependent init: genjax's init_params reads this input (its data key).
  rng = jax.random.key(config.seed)
  params = training.init_params(rng, batch)
  with torch.no_grad():
    model(nchw(glow.to_glow_input(batch['image'], jax.random.split(rng)[0])))
  init = torch_named(params, config)
  actnorm_diff = max(float(np.abs(p.detach().numpy() - init[name]).max())
                     for name, p in model.named_parameters() if '.layers.0.' in name)

  # Every leaf perturbed, so that the zero-init convs and the 1x1 LU factors all act.
  leaves, treedef = jax.tree.flatten(params)
  keys = jax.random.split(jax.random.key(1), len(leaves))
  params = jax.tree.unflatten(treedef, [p + noise * jax.random.normal(k, p.shape)
                                        for p, k in zip(leaves, keys)])
  step_rng = jax.random.key(2)
  loss_of = lambda p: training.loss_fn(p, batch, step_rng, StepContext())[0]
  g_loss, g_grads = jax.value_and_grad(loss_of)(params)
  # The same draw to_glow_input makes from step_rng.
  u = jax.random.uniform(step_rng, batch['image'].shape)
  k = jnp.round(batch['image'] * 255.0)
  model.load_state_dict({n: torch.as_tensor(np.array(v))
                         for n, v in torch_named(params, config).items()})
  x = nchw((k + u) / torch_glow.LEVELS - 0.5)
  t_loss = torch_glow.bits_per_dim(model(x), x[0].numel()).mean()
  t_loss.backward()
  want = torch_named(g_grads, config)
  grad_diff = max(float(np.abs(p.grad.numpy() - want[name]).max()
                        / max(np.abs(want[name]).max(), 1e-12))
                  for name, p in model.named_parameters())
  result = {'genjax_loss': float(g_loss), 'torch_loss': t_loss.item(),
            'loss_abs_diff': abs(float(g_loss) - t_loss.item()),
            'grad_max_rel_diff': grad_diff, 'actnorm_init_max_abs_diff': actnorm_diff}
  print('check: ' + ', '.join(f'{key} {v:.3g}' for key, v in result.items()))
  if result['loss_abs_diff'] > tol or grad_diff > 1e-3 or actnorm_diff > 1e-4:
    raise AssertionError(f'the torch Glow is not the genjax Glow: {result}')
  print(f'check passed: the same loss (to {tol:g} bits/dim), gradients and ActNorm init')
  return result


def add_check(p):
  p.add_argument('--check', action='store_true',
                 help='only check that the torch Glow with genjax parameters gives the same '
                      'loss and gradients on one batch, then exit')


def check_only(args, config) -> bool:
  if args.check:
    check_same_loss(config, load_images(args.max_examples or 1024)[0])
  return args.check


BENCHMARK = loop_step.OneStep(
    module='glow_train', config_file='configs/glow.py', family_def=glow.FAMILY,
    get_config=glow_config.get_config, torch_implements=torch_implements,
    torch_side=torch_side, counts=genjax_counts,
    torch_counts=lambda t: counts_by_kind(
        ((name, p.numel()) for name, p in t.model.named_parameters()), TORCH_KINDS),
    loss_note='losses in bits/dim of the 8-bit data, at the last timed step of each side; '
              'the sides start from different random convs and see different batches')


def main(argv=None):
  loop_step.main(BENCHMARK, __doc__, argv, add_args=add_check, before=check_only)


if __name__ == '__main__':
  main()
