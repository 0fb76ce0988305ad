"""genjax EM vs scikit-learn's GaussianMixture on PCA-50 Fashion-MNIST, side by side.

Command (from the repository root):

  .venv/bin/python -m benchmarks.gmm_sklearn [--out results.json] [--quick]

Data: the 60,000 Fashion-MNIST training images in [0, 1], projected on their top 50
principal axes by `genjax.models.pca` (what configs/gmm.py's data is), float32.
Start: genjax's k-means initialisation (`initial_responsibilities(init='kmeans')`, seed 0,
then `params_from_responsibilities`), given to scikit-learn as `weights_init`,
`means_init` and `precisions_init`. K = 10, tol 1e-3, reg_covar 1e-6, max_iter 100, for
each --covariance-types (full and diag).

What is timed (wall time to convergence from that start, best and median of --repeats
repeats, interleaved so that a burst of background load hits every fit alike):

* genjax `em_step`: `jax.jit(em_step)` called in a Python loop that stops as the family
  does, once the mean log-likelihood changes by less than tol (sklearn's test), float32.
* genjax family step: the GMM family's `update_fn` through the loop's own
  `make_train_step` (jit, state donated, `lax.cond` that leaves a converged state alone),
  one call per iteration until it reports `converged` (what `python -m experiments.gmm`
  runs, less its logging, evaluation and checkpoints).
* scikit-learn: `GaussianMixture(...).fit(x)` on the float64 copy of the features
  (--sklearn-dtype). Its fit also computes one M-step from `init_params` responsibilities
  that the *_init then replace ('random_from_data', the cheapest) and a final E-step.

Reported: seconds, iterations, seconds per iteration, and the final mean log-likelihood
(the last lower bound: the log-likelihood under the params before the last M-step).
Goals: the same log-likelihood within 1e-3 nats per sample, and genjax's `em_step` loop at
least 3x faster than scikit-learn. Per-step levers (--skip-step-levers to leave out) time
one EM step on the whole data in each formulation tried; see LEVERS.
"""

from __future__ import annotations

import argparse
import functools
import math
import os
import platform
import time
import warnings

import numpy as np

import jax
import jax.numpy as jnp
import sklearn
from sklearn.exceptions import ConvergenceWarning
from sklearn.mixture import GaussianMixture

from benchmarks.harness import (command_line, interleaved_repeats, machine_busy,
                                print_machine_facts, report_load, time_calls, write_json)
from benchmarks.pca_sklearn import load_pixels
from configs import gmm as gmm_config
from genjax.families import gmm as gmm_family
from genjax.data.features import Features
from genjax.models import gmm, pca
from genjax.objectives import gmm as em
from genjax.training import mesh as mesh_lib
from genjax.data.family_data import DataInfo
from genjax.training.state import create_train_state
from genjax.training.step import make_train_step

COMPONENTS, PCA_DIMS, TOL, REG_COVAR, MAX_ITER = 10, 50, 1e-3, 1e-6, 100
LOG_LIKELIHOOD_GOAL = 1e-3  # nats per sample
SPEED_GOAL = 3.0            # sklearn seconds / genjax em_step seconds

# What was tried for one full-covariance EM step (K=10, 60000 x 50, float32), measured as
# interleaved medians while two training jobs shared the 2 cores, so roughly; the
# --step-levers rows of this benchmark re-measure them.
LEVERS = {
    'einsum over [N, K, D] (before)': 'E 467 ms + M 557 ms; whole step 607-678 ms; the HLO '
        'holds six transposed [10, 50, 60000] copies around a batched dot',
    'E-step as one [N, D] @ [D, K*D] GEMM, globally centred': 'E 207 ms, but log p(x) '
        'off by 2.4e-4 against float64 (vs 4.5e-5): not taken',
    'E-step, lax.map over components ((x - mu_k) @ P_k)': 'E 73-95 ms, accuracy as '
        'before; taken. A Python loop over k: 51 ms, but its program grows with K',
    'M-step, one GEMM about a global centre, corrected': '241 ms, second moments 2e-6 '
        'off (vs 1e-7): not taken',
    'M-step, centred left factor x global right factor, one GEMM': '303 ms: not taken',
    'M-step, batch-first [K, N, D] einsum': '380 ms: not taken',
    'M-step, lax.map over components ((r_k dx_k)^T dx_k)': '135-209 ms; taken',
    'M-step, sqrt(r_k) dx_k then W^T W': '125 ms vs 153 in one A/B; not taken (the '
        'blocks below gained more)',
    'E and M summed over row blocks of ~4096 in lax.scan': 'whole step 348 -> 164-256 ms '
        '(full), 93 -> 32-48 ms (diag): x stays in cache across the K components; taken',
    'block size 1024 / 4096 / 16384 / 60000': 'full 277 / 164 / 288 / 300 ms median, '
        'diag 48 / 49 / 45 / 77: 4096 kept',
    'k-means initialisation': '166 ms (k-means++ 22, 24 Lloyd iterations 128) against '
        "scikit-learn's KMeans 0.51 s: not a bottleneck",
    'float64': 'not tried for speed: float32 already matches sklearn to ~1e-4 nats',
    "diag E-step as scikit-learn's expansion x^2 P - 2 x (mu P) + mu^2 P (two GEMMs)":
        '6.7 ms against 9.1 for the centred form on the whole data (median of 7 A/B '
        'pairs, loaded machine), rounding error 1.3e-5 relative against float64 (vs '
        '3.5e-7): too little to reach 3x; not taken',
    'diag step wholly as GEMMs (E and M expanded about the weighted mean of the means)':
        '38.8 ms against 36.0 for the current step (medians of 9, loaded): the diagonal '
        "step is not bound by its FLOPs; not taken",
    'first moments as one GEMM (r^T x - n c), second moments per component': 'diag '
        '30 ms against 35, full no change (loaded, within noise); not taken',
    'K loop unrolled (lax.scan unroll) inside the blocks': 'diag 45 vs 35 ms, full '
        '276 vs 244 ms (loaded): slower; not taken',
    'XLA:CPU on one thread (intra_op_parallelism_threads=1)': 'no change on the diag '
        'step (loaded)',
}


# ----------------------------------------------------------------------------- data


def features(max_examples: int) -> tuple[np.ndarray, str]:
  """PCA-50 features of the training images, float32 [N, 50]."""
  pixels, line = load_pixels(max_examples)
  projection = jax.tree.map(np.asarray, jax.jit(pca.fit, static_argnums=1)(pixels, PCA_DIMS))
  x = np.asarray(pca.encode(projection, pixels), np.float32)
  return x, f'{line}; projected on the top {PCA_DIMS} principal axes (genjax.models.pca)'


@functools.partial(jax.jit, static_argnums=1)
def initial_params(x: jax.Array, kind: str, seed: int = 0):
  """(params, ok) from genjax's k-means start."""
  resp = em.initial_responsibilities(jax.random.PRNGKey(seed), x, num_components=COMPONENTS,
                                     init='kmeans')
  return em.params_from_responsibilities(x, resp, reg_covar=REG_COVAR, covariance_type=kind)


# ----------------------------------------------------------------------------- fits


class GenjaxEmLoop:
  """`jax.jit(em_step)` looped on the host with the family's convergence test."""

  def __init__(self, x, kind, start, max_iter):
    self.x, self.start, self.max_iter = x, start, max_iter
    self.step = jax.jit(functools.partial(em.em_step, reg_covar=REG_COVAR,
                                          covariance_type=kind))
    t0 = time.perf_counter()
    jax.block_until_ready(self.step(start, x))
    self.compile_s = time.perf_counter() - t0

  def measure(self) -> float:
    t0 = time.perf_counter()
    params, previous = self.start, None
    for i in range(1, self.max_iter + 1):
      params, log_likelihood, ok = self.step(params, self.x)
      log_likelihood = float(log_likelihood)  # the host's test, as the loop's metrics are
      if not ok:
        raise FloatingPointError('an EM step met an ill-defined covariance')
      if previous is not None and abs(log_likelihood - previous) < TOL:
        break
      previous = log_likelihood
    dt = time.perf_counter() - t0
    self.iterations, self.log_likelihood = i, log_likelihood
    return dt


class GenjaxFamilyStep:
  """The family's update_fn through `make_train_step`, one EM iteration per call."""

  def __init__(self, x, kind, start, max_iter):
    self.max_iter = max_iter
    config = gmm_config.get_config(kind)
    config.batch_size = x.shape[0]
    config.objective.tol, config.objective.reg_covar = TOL, REG_COVAR
    config.model.components = COMPONENTS
    n = x.shape[0]
    info = DataInfo(num_train=n, num_classes=0, example_shape=x.shape[1:],
                    features=Features(train=x, test=x, test_labels=np.zeros(n, np.int32),
                                  image_shape=x.shape[1:]))
    self.family = gmm_family.build(config, info)
    self.mesh = mesh_lib.make_mesh()
    self.step = make_train_step(self.family.update_fn, self.mesh)
    self.batch = mesh_lib.global_batch({'x': np.asarray(x)[None]}, self.mesh, batch_axis=1)
    self.start = jax.tree.map(np.asarray, start)
    t0 = time.perf_counter()
    state, _ = self.step(self._state(), self.batch)
    jax.block_until_ready(state)
    self.compile_s = time.perf_counter() - t0
    jax.block_until_ready(self.step(state, self.batch))  # a step from a step's output

  def _state(self):
    """A fresh copy of the start (the step donates it), placed as the step's outputs are,
    so that the first call reuses the compiled step."""
    state = create_train_state(self.start, None, jax.random.PRNGKey(0), ema=False,
                               model_state=self.family.init_model_state(None, None,
                                                                        self.start))
    return jax.device_put(state, mesh_lib.replicated(self.mesh))

  def measure(self) -> float:
    state = self._state()
    jax.block_until_ready(state)
    t0 = time.perf_counter()
    for _ in range(self.max_iter):
      state, metrics = self.step(state, self.batch)
      if bool(metrics['converged'][-1]):
        break
    dt = time.perf_counter() - t0
    if float(metrics['ill_defined'][-1]):
      raise FloatingPointError('the family step met an ill-defined covariance')
    self.iterations = int(metrics['iterations'][-1])
    self.log_likelihood = -float(metrics['loss'][-1])
    return dt


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

  def measure(self) -> float:
    model = GaussianMixture(**self.kwargs)
    t0 = time.perf_counter()
    with warnings.catch_warnings():
      warnings.simplefilter('ignore', ConvergenceWarning)
      model.fit(self.x)
    dt = time.perf_counter() - t0
    self.iterations, self.log_likelihood = model.n_iter_, float(model.lower_bound_)
    self.converged = bool(model.converged_)
    return dt


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


class OneStep:
  """One EM step on the whole data in one formulation; steps per second."""

  def __init__(self, step_fn, x, start, min_time):
    self.fn, self.x, self.start, self.min_time = jax.jit(step_fn), x, start, min_time
    jax.block_until_ready(self.fn(start, x))

  def run_n(self, n):
    for _ in range(n):
      out = self.fn(self.start, self.x)
    jax.block_until_ready(out)

  def measure(self) -> float:
    self.n, dt = time_calls(self.run_n, self.min_time, getattr(self, 'n', 1))
    return dt / self.n


def step_levers(x, kind, start, min_time):
  common = dict(reg_covar=REG_COVAR, covariance_type=kind)
  n = x.shape[0]
  return {
      f'{kind} step: einsum over [N, K, D] (before)':
          OneStep(functools.partial(_einsum_em_step, **common), x, start, min_time),
      f'{kind} step: per component, unblocked':
          OneStep(functools.partial(em.em_step, block_rows=n, **common), x, start, min_time),
      f'{kind} step: per component, blocks of {em.BLOCK_ROWS} (now)':
          OneStep(functools.partial(em.em_step, **common), x, start, min_time),
  }


# ----------------------------------------------------------------------------- main


def parse_args(argv=None):
  p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
  p.add_argument('--out', default='', help='write the results as JSON to this path')
  p.add_argument('--repeats', type=int, default=3, help='interleaved repeats')
  p.add_argument('--covariance-types', default='full,diag')
  p.add_argument('--sklearn-dtype', default='float64', choices=('float64', 'float32'))
  p.add_argument('--max-examples', type=int, default=0, help='use only this many (0: all)')
  p.add_argument('--max-iter', type=int, default=MAX_ITER, help="EM's iteration limit")
  p.add_argument('--skip-step-levers', action='store_true')
  p.add_argument('--min-time', type=float, default=1.0,
                 help='seconds each one-step lever measurement runs at least')
  p.add_argument('--quick', action='store_true',
                 help='a smoke check in seconds: 3000 examples, at most 5 iterations, '
                      'one repeat')
  return p.parse_args(argv)


def main(argv=None):
  args = parse_args(argv)
  if args.quick:
    args.max_examples, args.repeats, args.min_time = args.max_examples or 3000, 1, 0.2
    args.max_iter = min(args.max_iter, 5)
  kinds = [k for k in args.covariance_types.split(',') if k]
  env = {'jax': jax.__version__, 'sklearn': sklearn.__version__, 'numpy': np.__version__,
         'python': platform.python_version(), 'devices': [str(d) for d in jax.devices()],
         'cpu_count': os.cpu_count(), 'XLA_FLAGS': os.environ.get('XLA_FLAGS', ''),
         'OPENBLAS_NUM_THREADS': os.environ.get('OPENBLAS_NUM_THREADS', ''),
         'loadavg_at_start': os.getloadavg()}
  print(__doc__.split('\n\n')[0])
  machine = print_machine_facts()
  t0 = time.perf_counter()
  x_np, data_line = features(args.max_examples)
  x = jax.device_put(x_np)
  print(f'data: {data_line} ({time.perf_counter() - t0:.1f} s)')
  print(f"jax {env['jax']} on {env['devices']}, scikit-learn {env['sklearn']} "
        f"({args.sklearn_dtype}), {env['cpu_count']} CPUs, load average "
        f"{env['loadavg_at_start'][0]:.2f}; {args.repeats} interleaved repeats; "
        'initialising, compiling and warming up ...', flush=True)

  fits, levers, init_s = {}, {}, {}
  for kind in kinds:
    start, ok = jax.block_until_ready(initial_params(x, kind))
    if not ok:
      raise FloatingPointError(f'the k-means start of the {kind} mixture is ill-defined')
    t0 = time.perf_counter()
    jax.block_until_ready(initial_params(x, kind))
    init_s[kind] = time.perf_counter() - t0
    fits[f'{kind}: genjax em_step loop'] = GenjaxEmLoop(x, kind, start, args.max_iter)
    fits[f'{kind}: genjax family step'] = GenjaxFamilyStep(x_np, kind, start, args.max_iter)
    fits[f'{kind}: sklearn'] = SklearnFit(x_np, kind, start, args.sklearn_dtype,
                                          args.max_iter)
    if not args.skip_step_levers:
      levers.update(step_levers(x, kind, start, args.min_time))
  measures = {**{name: f.measure for name, f in fits.items()},
              **{name: s.measure for name, s in levers.items()}}
  raw, others = interleaved_repeats(measures, args.repeats)
  busy = machine_busy(others)

  print()
  print(f"{'fit to convergence':32s} {'best s':>8s} {'median s':>9s} {'iters':>6s} "
        f"{'s/iter':>8s} {'log-likelihood':>15s} {'compile s':>10s}")
  print('-' * 94)
  rows = {}
  for name, f in fits.items():
    rows[name] = {'seconds_raw': raw[name], 'seconds_best': min(raw[name]),
                  'seconds_median': float(np.median(raw[name])),
                  'iterations': f.iterations, 'log_likelihood': f.log_likelihood,
                  'seconds_per_iteration': min(raw[name]) / f.iterations,
                  'compile_s': getattr(f, 'compile_s', None)}
    r = rows[name]
    compile_s = '' if r['compile_s'] is None else f"{r['compile_s']:10.2f}"
    print(f"{name:32s} {r['seconds_best']:8.2f} {r['seconds_median']:9.2f} "
          f"{r['iterations']:6d} {r['seconds_per_iteration']:8.3f} "
          f"{r['log_likelihood']:15.6f} {compile_s}")
  print('genjax k-means initialisation (warm, not in the times above): '
        + ', '.join(f'{k} {v:.2f} s' for k, v in init_s.items()))
  if levers:
    print()
    print(f"{'one EM step (lever)':52s} {'best ms':>9s} {'median ms':>10s}")
    for name in levers:
      print(f'{name:52s} {1e3 * min(raw[name]):9.1f} {1e3 * np.median(raw[name]):10.1f}')

  goals, ratios = {}, {}
  print()
  for kind in kinds:
    g, f, s = (rows[f'{kind}: {who}'] for who in ('genjax em_step loop',
                                                  'genjax family step', 'sklearn'))
    ratios[f'{kind}: sklearn / genjax em_step loop'] = s['seconds_best'] / g['seconds_best']
    ratios[f'{kind}: sklearn / genjax family step'] = s['seconds_best'] / f['seconds_best']
    ratios[f'{kind}: |log-likelihood difference| (nats)'] = abs(
        g['log_likelihood'] - s['log_likelihood'])
    goals[f'{kind}: log-likelihood within {LOG_LIKELIHOOD_GOAL:g} of sklearn'] = (
        ratios[f'{kind}: |log-likelihood difference| (nats)'] <= LOG_LIKELIHOOD_GOAL)
    goals[f'{kind}: genjax >= {SPEED_GOAL:g}x faster than sklearn'] = (
        ratios[f'{kind}: sklearn / genjax em_step loop'] >= SPEED_GOAL)
  for name, v in ratios.items():
    print(f"  {name:50s} {v:10.2e}" if 'nats' in name else f'  {name:50s} {v:9.2f}x')
  print('goals:' + (' (UNRELIABLE: the machine was busy, see below)' if busy else ''))
  for name, ok in goals.items():
    print(f"  {name:50s} {'MET' if ok else 'NOT MET':>8s}")
  report_load(env, others, busy)

  if args.out:
    write_json(args.out, {
        'command': command_line('benchmarks.gmm_sklearn', argv), 'data': data_line,
        'environment': env,
        'settings': {'components': COMPONENTS, 'pca_dims': PCA_DIMS, 'tol': TOL,
                     'reg_covar': REG_COVAR, 'max_iter': args.max_iter, 'kinds': kinds,
                     'repeats': args.repeats, 'max_examples': args.max_examples,
                     'sklearn_dtype': args.sklearn_dtype, 'genjax_dtype': 'float32',
                     'block_rows': em.BLOCK_ROWS},
        'fits': rows, 'init_seconds': init_s,
        'one_step_seconds': {name: {'best': min(raw[name]),
                                    'median': float(np.median(raw[name])),
                                    'raw': raw[name]} for name in levers},
        'ratios': ratios, 'goals': goals, 'machine_busy': busy, 'levers_tried': LEVERS,
    }, machine)


if __name__ == '__main__':
  main()
