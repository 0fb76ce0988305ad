"""A Gaussian mixture fitted by EM on PCA-50 Fashion-MNIST: scikit-learn's
`GaussianMixture(n_components=10, covariance_type='full', tol=1e-3, reg_covar=1e-6,
max_iter=100, init_params='kmeans')` on the 60k training images' top 50 principal axes.

    python -m experiments.gmm --config=configs/gmm.py --workdir=runs/gmm

Variants, comma-separated after ':': smoke (seconds, on the 8x8 digits' top 10 axes),
full, diag, spherical, tied (the covariance type; full is the default), pixels8 (on the
784 pixels dequantised as Glow reads them, y = (k + u) / 256, with test bits/dim: the
floor of the likelihood table; at most 40 EM iterations, each about 18 s here).
One step is one EM iteration on the whole training set, so total_steps is max_iter; a run
stops earlier once the mean log-likelihood changes by less than objective.tol.
"""

from configs import variants
from genjax.config import lock
from genjax.families import gmm


def get_config(arg: str | None = None):
  c = gmm.schema()
  c.family = 'gmm'
  c.batch_size = 60000  # the whole training set
  c.eval_batch_size = 10000
  c.total_steps = 100
  c.steps_per_call = 1  # convergence is checked after every call
  c.log_every = 1
  c.eval_every = 10
  c.ckpt_every = 10
  c.figures_every = 0
  variants.apply(c, arg, _VARIANTS)
  return lock(c)


def _covariance(kind):
  return lambda c: setattr(c.model, 'covariance_type', kind)


def _smoke(c):
  variants.smoke(c)
  c.batch_size = 1500  # digits' training split
  c.data.pca_dims = 10
  c.model.components = 5
  c.eval.num_samples = 16


def _pixels8(c):
  c.data.pca_dims = 0
  c.data.dequantize = True
  c.total_steps = 40


# get_config's variants by name, applied in the order the arg lists them.
_VARIANTS = {
    'smoke': _smoke,
    **{kind: _covariance(kind) for kind in ('full', 'diag', 'spherical', 'tied')},
    'pixels8': _pixels8,
}
VARIANTS = tuple(_VARIANTS)
