"""genjax EM vs scikit-learn's GaussianMixture on PCA-50 Fashion-MNIST, side by side.

Command (from the repository root):

  .venv/bin/python -m benchmarks.gmm_sklearn [--out results.json] [--quick]

Data and start are the loop's (benchmarks/loop_step.py: `assemble` of the gmm family,
configs/gmm.py): the training images' top 50 principal axes (float32), all of them in
every step's batch, and the initial state's k-means start, given to scikit-learn as its
*_init. K = 10, tol 1e-3, reg_covar 1e-6, max_iter 100, for each --covariance-types.
Timed, to convergence from that start (interleaved repeats):

* genjax family step (the table's genjax side): the loop's compiled step, one EM
  iteration per call until it reports `converged`, as `python -m experiments.gmm` runs it
  less its logging, evaluation and checkpoints;
* genjax `em_step`: `jax.jit(em_step)` in a Python loop with the family's stopping test;
* scikit-learn: `GaussianMixture(...).fit(x)` on a float64 copy (--sklearn-dtype), with
  init_params='random_from_data' (the cheapest, replaced by the *_init).

Reported: seconds, iterations and the final mean log-likelihood (scikit-learn's last lower
bound). Goals: the same log-likelihood within 1e-3 nats per sample, and genjax at least 3x
faster. Per-step rows (--skip-step-levers leaves them out) time one EM step on the whole
data in each formulation tried (docs/results/performance.md, "Levers tried").
"""

from __future__ import annotations

import functools
import math
import time
import warnings

import numpy as np

import jax
import jax.numpy as jnp
import sklearn
from sklearn.exceptions import ConvergenceWarning
from sklearn.mixture import GaussianMixture

from benchmarks import loop_step
from benchmarks.harness import (CallTimer, Timer, arguments, begin, command_line, finish,
                                interleaved_repeats)
from configs import gmm as gmm_config
from genjax.families import gmm as gmm_family
from genjax.models import gmm
from genjax.objectives import gmm as em
from genjax.training import mesh as mesh_lib

COMPONENTS, TOL, REG_COVAR, MAX_ITER = 10, 1e-3, 1e-6, 100
LOG_LIKELIHOOD_GOAL = 1e-3  # nats per sample
SPEED_GOAL = 3.0            # sklearn seconds / genjax seconds


# ----------------------------------------------------------------------------- fits


class FamilyFit:
  """The loop's step, one EM iteration per call, from the initial state to convergence."""

  def __init__(self, step: loop_step.LoopStep, max_iter: int):
    self.step, self.max_iter, self.compile_s = step, max_iter, step.compile_s
    self.conv_flop_share = step.conv_flop_share.record()
    self.start = jax.device_get(step.state)  # each fit starts from a fresh copy
    self.replicated = mesh_lib.replicated(step.assembled.mesh)

  def fit(self, n: int = 1) -> None:
    for _ in range(n):
      self.step.state = jax.device_put(self.start, self.replicated)
      for _ in range(self.max_iter):
        self.step.run_n(1)
        if bool(self.step.metrics['converged'][-1]):
          break
    if float(self.step.metrics['ill_defined'][-1]):
      raise FloatingPointError('the family step met an ill-defined covariance')
    self.iterations = int(self.step.metrics['iterations'][-1])
    self.log_likelihood = -self.step.last()


class EmLoop:
  """`jax.jit(em_step)` looped on the host with the family's convergence test."""

  def __init__(self, x, kind, start, max_iter):
    self.x, self.start, self.max_iter = x, start, max_iter
    self.step = jax.jit(functools.partial(em.em_step, reg_covar=REG_COVAR,
                                          covariance_type=kind))
    t0 = time.perf_counter()  # compiled for the start and for a step's output
    jax.block_until_ready(self.step(self.step(start, x)[0], x))
    self.compile_s = time.perf_counter() - t0

  def fit(self, n: int = 1) -> None:
    for _ in range(n):
      params, previous = self.start, None
      for i in range(1, self.max_iter + 1):
        params, log_likelihood, ok = self.step(params, self.x)
        log_likelihood = float(log_likelihood)  # the host's test, as the loop's metrics are
        if not ok:
          raise FloatingPointError('an EM step met an ill-defined covariance')
        if previous is not None and abs(log_likelihood - previous) < TOL:
          break
        previous = log_likelihood
      self.iterations, self.log_likelihood = i, log_likelihood


class SklearnFit:
  def __init__(self, x, kind, start, dtype, max_iter):
    self.x = np.asarray(x, dtype)
    start = jax.tree.map(lambda a: np.asarray(a, np.float64), start)
    factor = start['precisions_cholesky']
    precisions = np.einsum('kij,klj->kil', factor, factor) if kind == 'full' else factor**2
    self.kwargs = dict(n_components=COMPONENTS, covariance_type=kind, tol=TOL,
                       reg_covar=REG_COVAR, max_iter=max_iter, init_params='random_from_data',
                       random_state=0, weights_init=start['weights'] / start['weights'].sum(),
                       means_init=start['means'], precisions_init=precisions)

  def fit(self, n: int = 1) -> None:
    for _ in range(n):
      model = GaussianMixture(**self.kwargs)
      with warnings.catch_warnings():
        warnings.simplefilter('ignore', ConvergenceWarning)
        model.fit(self.x)
    self.iterations, self.log_likelihood = model.n_iter_, float(model.lower_bound_)
    self.converged = bool(model.converged_)


# ----------------------------------------------------------------------------- levers


def _einsum_em_step(params, x, *, reg_covar, covariance_type):
  """The EM step as it was before the levers: everything broadcast to [N, K, D]."""
  means, factor = params['means'], params['precisions_cholesky']
  dx = x[:, None, :] - means[None]
  y = (jnp.einsum('nkd,kde->nke', dx, factor) if covariance_type == 'full'
       else dx * factor[None])
  log_det = gmm.log_det_cholesky(factor, covariance_type=covariance_type,
                                 num_features=x.shape[-1])
  joint = (jnp.log(params['weights']) - 0.5 * x.shape[-1] * math.log(2 * math.pi) + log_det
           - 0.5 * jnp.sum(jnp.square(y), -1))
  log_norm = jax.nn.logsumexp(joint, -1)
  weighted = jnp.exp(joint - log_norm[:, None])[..., None] * dx
  sxx = (jnp.einsum('nkd,nke->kde', weighted, dx) if covariance_type == 'full'
         else jnp.sum(weighted * dx, 0))
  stats = {'n': jnp.sum(jnp.exp(joint - log_norm[:, None]), 0), 'sx': jnp.sum(weighted, 0),
           'sxx': sxx}
  new, ok = em.m_step(stats, means, reg_covar=reg_covar, covariance_type=covariance_type)
  return new, jnp.mean(log_norm), ok


def step_levers(x, kind, start, min_time):
  """Seconds of one EM step on the whole data, per formulation."""
  common = dict(reg_covar=REG_COVAR, covariance_type=kind)
  forms = {'einsum over [N, K, D] (before)': functools.partial(_einsum_em_step, **common),
           'per component, unblocked': functools.partial(em.em_step, block_rows=x.shape[0],
                                                         **common),
           f'per component, blocks of {em.BLOCK_ROWS} (now)': functools.partial(em.em_step,
                                                                               **common)}
  return {f'{kind} step: {name}': CallTimer(functools.partial(jax.jit(fn), start, x), 1,
                                            min_time).seconds
          for name, fn in forms.items()}


# ----------------------------------------------------------------------------- main


def parse_args(argv=None):
  p = arguments(__doc__, 3, 1.0, quick='a smoke check: at most 5 iterations, one repeat')
  p.add_argument('--covariance-types', default='full,diag')
  p.add_argument('--sklearn-dtype', default='float64', choices=('float64', 'float32'))
  p.add_argument('--max-iter', type=int, default=MAX_ITER, help="EM's iteration limit")
  p.add_argument('--skip-step-levers', action='store_true')
  return p.parse_args(argv)


def main(argv=None):
  args = parse_args(argv)
  if args.quick:
    args.repeats, args.min_time = 1, 0.2
    args.max_iter = min(args.max_iter, 5)
  kinds = [k for k in args.covariance_types.split(',') if k]
  env, machine = begin(__doc__, sklearn=sklearn.__version__,
                       sklearn_dtype=args.sklearn_dtype)
  print(f'{args.repeats} interleaved repeats; loading, initialising, compiling and warming '
        'up ...', flush=True)
  fits, levers, init_s, data_line = {}, {}, {}, ''
  for kind in kinds:
    config = loop_step.benchmark_config(gmm_config.get_config, kind, **{
        'objective.tol': TOL, 'objective.reg_covar': REG_COVAR,
        'model.components': COMPONENTS, 'total_steps': args.max_iter})
    step = loop_step.LoopStep(gmm_family.FAMILY, config, calls=1)
    data_line = step.assembled.data.description
    start = step.init_params
    if float(step.state.model_state['ill_defined']):
      raise FloatingPointError(f'the k-means start of the {kind} mixture is ill-defined')
    x = step.batches[0]['x'][0]  # the batch the family step reads at every call
    init = jax.jit(step.family.training.init_params)
    init_rng, batch = jax.random.PRNGKey(0), {'x': x}
    init_s[kind] = CallTimer(lambda: init(init_rng, batch)).seconds()
    fits[f'{kind}: genjax family step'] = FamilyFit(step, args.max_iter)
    fits[f'{kind}: genjax em_step loop'] = EmLoop(x, kind, start, args.max_iter)
    fits[f'{kind}: sklearn'] = SklearnFit(np.asarray(x), kind, start, args.sklearn_dtype,
                                          args.max_iter)
    if not args.skip_step_levers:
      levers.update(step_levers(x, kind, start, args.min_time))
  print(f'data: {data_line}', flush=True)
  measures = {**{name: Timer(f.fit, warm_up=0).seconds for name, f in fits.items()},
              **levers}
  raw, others = interleaved_repeats(measures, args.repeats)

  print(f"\n{'fit to convergence':32s} {'best s':>8s} {'median s':>9s} {'iters':>6s} "
        f"{'s/iter':>8s} {'log-likelihood':>15s} {'compile s':>10s}")
  rows = {}
  for name, f in fits.items():
    rows[name] = r = {'seconds_raw': raw[name], 'seconds_best': min(raw[name]),
                      'seconds_median': float(np.median(raw[name])),
                      'iterations': f.iterations, 'log_likelihood': f.log_likelihood,
                      'seconds_per_iteration': min(raw[name]) / f.iterations,
                      'compile_s': getattr(f, 'compile_s', None),
                      'genjax_conv_flop_share': getattr(f, 'conv_flop_share', None)}
    compile_s = '' if r['compile_s'] is None else f"{r['compile_s']:10.2f}"
    print(f"{name:32s} {r['seconds_best']:8.2f} {r['seconds_median']:9.2f} "
          f"{r['iterations']:6d} {r['seconds_per_iteration']:8.3f} "
          f"{r['log_likelihood']:15.6f} {compile_s}")
  print('genjax k-means initialisation (warm, not in the times above): '
        + ', '.join(f'{k} {v:.2f} s' for k, v in init_s.items()))
  for name in levers:
    print(f'{name:52s} best {1e3 * min(raw[name]):9.1f} ms, median '
          f'{1e3 * np.median(raw[name]):9.1f} ms')

  goals, ratios = {}, {}
  for kind in kinds:
    f, g, s = (rows[f'{kind}: {who}'] for who in ('genjax family step',
                                                  'genjax em_step loop', 'sklearn'))
    ratios[f'{kind}: sklearn / genjax family step'] = s['seconds_best'] / f['seconds_best']
    ratios[f'{kind}: sklearn / genjax em_step loop'] = s['seconds_best'] / g['seconds_best']
    ratios[f'{kind}: |log-likelihood difference| (nats)'] = abs(
        f['log_likelihood'] - s['log_likelihood'])
    goals[f'{kind}: log-likelihood within {LOG_LIKELIHOOD_GOAL:g} of sklearn'] = (
        ratios[f'{kind}: |log-likelihood difference| (nats)'] <= LOG_LIKELIHOOD_GOAL)
    goals[f'{kind}: genjax >= {SPEED_GOAL:g}x faster than sklearn'] = (
        ratios[f'{kind}: sklearn / genjax family step'] >= SPEED_GOAL)
  print()
  for name, v in ratios.items():
    print(f"  {name:50s} {v:10.2e}" if 'nats' in name else f'  {name:50s} {v:9.2f}x')
  for name, ok in goals.items():
    print(f"  {name:50s} {'MET' if ok else 'NOT MET':>8s}")
  finish(args.out, {
      'command': command_line('benchmarks.gmm_sklearn', argv), 'data': data_line,
      'settings': {'components': COMPONENTS, 'tol': TOL, 'reg_covar': REG_COVAR,
                   'max_iter': args.max_iter, 'kinds': kinds, 'repeats': args.repeats,
                   'sklearn_dtype': args.sklearn_dtype,
                   'genjax_dtype': 'float32', 'block_rows': em.BLOCK_ROWS},
      'fits': rows, 'init_seconds': init_s,
      'one_step_seconds': {name: {'best': min(raw[name]),
                                  'median': float(np.median(raw[name])),
                                  'raw': raw[name]} for name in levers},
      'ratios': ratios, 'goals': goals,
  }, machine, others, env)


if __name__ == '__main__':
  main()
