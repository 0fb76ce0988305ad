"""An autoencoder of Fashion-MNIST's real-valued pixels: Hinton & Salakhutdinov's (2006)
784-1000-500-250-30 MLP with a linear code, trained on squared error.

    python -m experiments.autoencoder --config=configs/autoencoder.py --workdir=runs/ae

Variants, comma-separated after ':': smoke (seconds, on 8x8 digits), mnist, conv
(convolutional encoder and decoder), linear (affine encoder and decoder, linear output:
the AE that spans PCA's subspace; add weight decay with --config.optimizer.weight_decay),
bernoulli (dynamically binarised pixels, Bernoulli NLL), k2 k5 k10 k20 k30 k50 (code size),
cifar10 (colour 32x32 images, convolutional; see `_cifar10`), cifar10_smoke (the same data
and body in seconds).
Default: ReLU units, Adam 1e-3, batch 128, 50 epochs, no RBM pre-training. Hinton &
Salakhutdinov's MNIST result (2006, Fig. 2), 3.00 squared error per test image against
PCA's 13.87, is for a pre-trained logistic net; `squared_error` in final_metrics.json is
the same measure.
"""

from configs import variants
from genjax.config import lock
from genjax.families import autoencoder


def get_config(arg: str | None = None):
  c = autoencoder.schema()
  c.family = 'autoencoder'
  c.data.binarize = 'none'
  c.batch_size = 128
  c.total_epochs = 50.0
  c.steps_per_call = 10
  c.log_every = 500
  c.eval_every = 4680  # 10 epochs
  c.ckpt_every = 4680
  variants.apply(c, arg, _VARIANTS)
  return lock(c)


def _smoke(c):
  variants.smoke(c)
  c.model.hidden = (32,)
  c.model.code_size = 5
  c.model.conv_channels = (8, 16)
  c.eval.train_examples = 96


def _linear(c):
  c.model.hidden = ()
  c.model.output = 'linear'


def _bernoulli(c):
  c.objective.loss = 'bernoulli'
  c.data.binarize = 'dynamic'


def _cifar10(c):
  """A convolutional autoencoder of CIFAR-10's colour images: three stride-2 convolutions
  (32 -> 16 -> 8 -> 4; 32, 64, 128 channels) to a linear 128-unit code, their mirror back
  to sigmoid pixels, squared error over the 3072 values. Hinton & Salakhutdinov (2006)
  report no natural images; this variant has no published number to reach."""
  c.data.name = 'cifar10'
  c.data.channels = 3
  c.data.binarize = 'none'
  c.model.architecture = 'conv'
  c.model.conv_channels = (32, 64, 128)
  c.model.code_size = 128
  c.eval_every = 3910  # 10 epochs of 50,000
  c.ckpt_every = 3910


def _cifar10_smoke(c):
  """cifar10's colour data and conv body, shrunk to seconds."""
  _cifar10(c)
  variants.smoke(c, dataset=None)
  c.model.conv_channels = (8, 16)
  c.model.code_size = 5
  c.eval.test_examples = 64
  c.eval.train_examples = 64


# get_config's variants by name, applied in the order the arg lists them.
_VARIANTS = {
    'smoke': _smoke,
    'mnist': lambda c: setattr(c.data, 'name', 'mnist'),
    'conv': lambda c: setattr(c.model, 'architecture', 'conv'),
    'linear': _linear,
    'bernoulli': _bernoulli,
    **variants.code_sizes('code_size'),
    'cifar10': _cifar10,
    'cifar10_smoke': _cifar10_smoke,
}
VARIANTS = tuple(_VARIANTS)

# Each paper variant and its smoke counterpart: the same dataset and image structure, in
# seconds.
PAPER_VARIANTS = {'cifar10': 'cifar10_smoke'}
