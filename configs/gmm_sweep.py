"""Choosing a Gaussian mixture's size: a full-covariance mixture fitted by EM for each
number of components K, on PCA-50 Fashion-MNIST (60k images) and on the 8x8 digits'
top 40 principal axes (1500 images; VanderPlas's digits GMM, Python Data Science Handbook
(2016), "In Depth: Gaussian Mixture Models", keeps the 41 that hold 99% of the variance).

    python -m experiments.gmm_sweep --config=configs/gmm_sweep.py --workdir=runs/gmm_sweep

Each run is configs/gmm.py (tol 1e-3, at most 100 EM iterations, k-means initialisation)
with model.components = K, trained into <workdir>/<dataset>_k<K>. Then <workdir>/figures
gets log_likelihood_vs_iterations.png (every K, a panel per dataset), bic_vs_components.png
(BIC and AIC on the training set, minimum BIC circled) and samples_<dataset>.png (the
minimum-BIC model's samples in pixels), and summary.json the criteria, train and test
log-likelihoods and iterations of every run. Variants: smoke (digits' top 10 axes,
K = 1, 2, seconds). A field of one dataset's runs: --config.digits.<field>=..., likewise
for the section of each name in `datasets`; its Ks: --config.components.digits='(1, 2, 5)'.
"""

import ml_collections

from configs import gmm as gmm_config
from configs import variants


def get_config(arg: str | None = None):
  c = ml_collections.ConfigDict()
  c.datasets = ('fashion_mnist', 'digits')
  c.fashion_mnist = gmm_config.get_config('full')
  c.digits = gmm_config.get_config('full')
  c.digits.unlock()
  c.digits.data.name = 'digits'
  c.digits.batch_size = 1500  # its whole training set, which every EM step reads
  c.digits.eval_batch_size = 100  # its 297 test images, padded
  c.digits.data.pca_dims = 40
  c.components = ml_collections.ConfigDict({'fashion_mnist': (1, 2, 5, 10, 20, 30),
                                            'digits': (1, 2, 5, 10, 20, 40)})
  variants.apply(c, arg, _VARIANTS)
  for name in ('fashion_mnist', 'digits'):
    c[name].lock()
  c.lock()
  return c


def _smoke(c):
  c.datasets = ('digits',)
  c.components.digits = (1, 2)
  c.digits = gmm_config.get_config('smoke')
  c.digits.unlock()
  c.digits.steps_per_call = 1  # one metrics row per EM iteration, for the curve
  c.digits.log_every = 1


# get_config's variants by name.
_VARIANTS = {'smoke': _smoke}
VARIANTS = tuple(_VARIANTS)
