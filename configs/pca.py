"""PCA of Fashion-MNIST's real-valued pixels by SVD of the centred training set, in one step.

    python -m experiments.pca --config=configs/pca.py --workdir=runs/pca

Variants, comma-separated after ':': smoke (seconds, on 8x8 digits), mnist, k2 k5 k10 k20
k30 k50 (n_components). Default: 30 components, Hinton & Salakhutdinov's (2006) Fig. 2
setting, whose PCA reaches 13.87 squared error per MNIST test image (`squared_error` in
final_metrics.json). The batch is the whole training set; the run is one step.
"""

from configs import variants
from genjax.config import lock
from genjax.families import pca

_TRAIN_IMAGES = {'fashion_mnist': 60000, 'mnist': 60000, 'digits': 1500}


def get_config(arg: str | None = None):
  c = pca.schema()
  c.family = 'pca'
  c.data.binarize = 'none'
  c.total_steps = 1
  c.log_every = c.eval_every = c.ckpt_every = 1
  variants.apply(c, arg, _VARIANTS)
  c.batch_size = _TRAIN_IMAGES.get(c.data.name, 60000)
  return lock(c)


def _smoke(c):
  variants.smoke(c)
  c.model.n_components = 10
  c.total_steps, c.steps_per_call = 1, 1
  c.log_every = c.eval_every = c.ckpt_every = 1


# get_config's variants by name, applied in the order the arg lists them.
_VARIANTS = {
    'smoke': _smoke,
    'mnist': lambda c: setattr(c.data, 'name', 'mnist'),
    **variants.code_sizes('n_components'),
}
VARIANTS = tuple(_VARIANTS)
