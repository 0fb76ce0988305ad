"""genjax PCA vs scikit-learn's PCA on the Fashion-MNIST training images, side by side.

Command (from the repository root):

  .venv/bin/python -m benchmarks.pca_sklearn [--out results.json] [--quick]

What is compared (seconds per fit, interleaved repeats):

* genjax: `genjax.models.pca.fit(x, 50)` under `jax.jit` on the [60000, 784] float32
  pixels in [0, 1] (the fit of the pca family's step and of `genjax.data.features`), warm;
  the first call, compilation included, is reported apart;
* scikit-learn `PCA(50, svd_solver=s).fit(x)` for s in 'full', 'randomized'
  (random_state=0) and 'covariance_eigh', on the same float32 array;
* genjax's former fit, kept as a row: `jnp.linalg.svd` of the centred data
  (--skip-svd-lever leaves it out; it is the slowest row).

Accuracy: the top-50 explained variances and their ratios against float64 (numpy's `eigh`
of the float64 covariance, untimed), and genjax's against each solver's; components as the
largest |difference| after scikit-learn's sign convention. Goal: genjax's explained
variance equal to 'full' and 'randomized' to 1e-4 (relative), and genjax no slower.
"""

from __future__ import annotations

import time

import numpy as np

import jax
import jax.numpy as jnp
import sklearn
from sklearn.decomposition import PCA

from benchmarks.conv_share import conv_flop_share
from benchmarks.harness import (CallTimer, Timer, arguments, begin, command_line, finish,
                                interleaved_repeats, load_images)
from genjax.models import pca

N_COMPONENTS = 50
EQUAL_GOAL = 1e-4  # relative difference of explained variance, genjax vs scikit-learn
SOLVERS = ('full', 'randomized', 'covariance_eigh')


def float64_reference(x: np.ndarray, k: int) -> dict[str, np.ndarray]:
  """Explained variance, its ratio and components from the float64 covariance."""
  x = x.astype(np.float64)
  centred = x - x.mean(0)
  eigenvalues, eigenvectors = np.linalg.eigh(centred.T @ centred)
  eigenvalues, eigenvectors = np.maximum(eigenvalues[::-1], 0), eigenvectors[:, ::-1]
  variance = eigenvalues / (len(x) - 1)
  with jax.enable_x64(True):
    components = np.asarray(pca.flip_signs(jnp.asarray(eigenvectors[:, :k].T)))
  return {'explained_variance': variance[:k],
          'explained_variance_ratio': variance[:k] / variance.sum(), 'components': components}


def _svd_fit(x, n_components):
  """`pca.fit` as it was before the lever: the SVD of the centred data."""
  n = x.shape[0]
  mean = jnp.mean(x, axis=0)
  _, s, vt = jnp.linalg.svd(x - mean, full_matrices=False)
  variance = s**2 / (n - 1)
  return {'explained_variance': variance[:n_components],
          'explained_variance_ratio': variance[:n_components] / jnp.sum(variance),
          'components': pca.flip_signs(vt[:n_components])}


class GenjaxFit:
  """A jitted PCA fit on the device-resident pixels; `fit_fn(x, k)` is pca.fit or the SVD.
  `first_call_s`: compiling and the first call."""

  def __init__(self, x: np.ndarray, fit_fn):
    x = jax.device_put(x)
    t0 = time.perf_counter()
    fn = jax.jit(fit_fn, static_argnums=1).lower(x, N_COMPONENTS).compile()
    compile_s = time.perf_counter() - t0
    self.conv_flop_share = conv_flop_share(fn).record()
    self.timer = CallTimer(lambda: fn(x))
    self.result = jax.tree.map(np.asarray, self.timer.out)
    self.first_call_s = compile_s + self.timer.first_call_s


class SklearnFit:
  def __init__(self, x: np.ndarray, solver: str):
    self.x, self.solver = x, solver
    self.timer = Timer(self.fit)  # one call first: a warm-up (and the result)

  def fit(self, n: int = 1) -> None:
    for _ in range(n):
      model = PCA(N_COMPONENTS, svd_solver=self.solver, random_state=0).fit(self.x)
    self.result = {'explained_variance': model.explained_variance_,
                   'explained_variance_ratio': model.explained_variance_ratio_,
                   'components': model.components_}


def _relative(a, b) -> float:
  return float(np.max(np.abs(np.asarray(a, np.float64) - b) / np.abs(b)))


def parse_args(argv=None):
  p = arguments(__doc__, quick='a smoke check in seconds: 6000 examples, one repeat')
  p.add_argument('--max-examples', type=int, default=0, help='use only this many (0: all)')
  p.add_argument('--skip-svd-lever', action='store_true',
                 help="leave out genjax's former SVD fit (the slowest row)")
  return p.parse_args(argv)


def main(argv=None):
  args = parse_args(argv)
  if args.quick:
    args.max_examples, args.repeats = args.max_examples or 6000, 1
  env, machine = begin(__doc__, sklearn=sklearn.__version__)
  images, data_line = load_images(args.max_examples)
  x = images.reshape(len(images), -1)
  print(f'data: {data_line}, as [{x.shape[0]}, {x.shape[1]}]; {args.repeats} interleaved '
        'repeats; compiling and warming up ...', flush=True)

  reference = float64_reference(x, N_COMPONENTS)
  measures = {'genjax pca.fit (covariance eigh, f32)': GenjaxFit(x, pca.fit)}
  if not args.skip_svd_lever:
    measures['genjax SVD of the data (before), f32'] = GenjaxFit(x, _svd_fit)
  for solver in SOLVERS:
    measures[f'sklearn {solver}'] = SklearnFit(x, solver)
  raw, others = interleaved_repeats({name: m.timer.seconds for name, m in measures.items()},
                                    args.repeats)
  genjax_name = next(iter(measures))
  genjax = measures[genjax_name].result

  print()
  print(f"{'fit':40s} {'best s':>8s} {'median s':>9s} {'ev vs f64':>10s} "
        f"{'ratio vs f64':>12s} {'comp vs f64':>11s} {'ev vs genjax':>12s}")
  print('-' * 108)
  rows = {}
  for name, m in measures.items():
    r = m.result
    rows[name] = {
        'seconds_raw': raw[name], 'seconds_best': min(raw[name]),
        'seconds_median': float(np.median(raw[name])),
        'first_call_s': getattr(m, 'first_call_s', None),
        'genjax_conv_flop_share': getattr(m, 'conv_flop_share', None),
        'explained_variance_rel_err_vs_float64': _relative(r['explained_variance'],
                                                           reference['explained_variance']),
        'ratio_rel_err_vs_float64': _relative(r['explained_variance_ratio'],
                                              reference['explained_variance_ratio']),
        'components_max_abs_err_vs_float64': float(np.max(np.abs(
            r['components'] - reference['components']))),
        'genjax_explained_variance_rel_diff': _relative(genjax['explained_variance'],
                                                        r['explained_variance']),
        'genjax_ratio_rel_diff': _relative(genjax['explained_variance_ratio'],
                                           r['explained_variance_ratio']),
    }
    row = rows[name]
    print(f"{name:40s} {row['seconds_best']:8.2f} {row['seconds_median']:9.2f} "
          f"{row['explained_variance_rel_err_vs_float64']:10.1e} "
          f"{row['ratio_rel_err_vs_float64']:12.1e} "
          f"{row['components_max_abs_err_vs_float64']:11.1e} "
          f"{row['genjax_explained_variance_rel_diff']:12.1e}")
  print(f"genjax's first call (compilation included): "
        f"{measures[genjax_name].first_call_s:.2f} s")

  goals = {}
  for solver in ('full', 'randomized'):
    row = rows[f'sklearn {solver}']
    goals[f"explained variance equals sklearn {solver}'s to {EQUAL_GOAL:g}"] = (
        row['genjax_explained_variance_rel_diff'] <= EQUAL_GOAL
        and row['genjax_ratio_rel_diff'] <= EQUAL_GOAL)
    goals[f'genjax no slower than sklearn {solver}'] = (
        rows[genjax_name]['seconds_best'] <= row['seconds_best'])
  speedups = {f'sklearn {s} / genjax (best s)':
              rows[f'sklearn {s}']['seconds_best'] / rows[genjax_name]['seconds_best']
              for s in SOLVERS}
  print()
  for name, v in speedups.items():
    print(f'  {name:44s} {v:8.2f}x')
  print('goals:')
  for name, ok in goals.items():
    print(f"  {name:58s} {'MET' if ok else 'NOT MET':>8s}")
  finish(args.out, {
      'command': command_line('benchmarks.pca_sklearn', argv), 'data': data_line,
      'settings': {'n_components': N_COMPONENTS, 'repeats': args.repeats,
                   'max_examples': args.max_examples, 'dtype': 'float32'},
      'fits': rows, 'speedups': speedups, 'goals': goals,
  }, machine, others, env)


if __name__ == '__main__':
  main()
