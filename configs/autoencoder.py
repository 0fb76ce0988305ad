"""An autoencoder of Fashion-MNIST's real-valued pixels: Hinton & Salakhutdinov's (2006)
784-1000-500-250-30 MLP with a linear code, trained on squared error.

    python -m experiments.autoencoder --config=configs/autoencoder.py --workdir=runs/ae

Variants, comma-separated after ':': smoke (seconds, on 8x8 digits), mnist, conv
(convolutional encoder and decoder), linear (affine encoder and decoder, linear output:
the AE that spans PCA's subspace; add weight decay with --config.optimizer.weight_decay),
bernoulli (dynamically binarised pixels, Bernoulli NLL), k2 k5 k10 k20 k30 k50 (code size).
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


# get_config's variants by name, applied in the order the arg lists them.
_VARIANTS = {
    'smoke': _smoke,
    'mnist': lambda c: setattr(c.data, 'name', 'mnist'),
    'conv': lambda c: setattr(c.model, 'architecture', 'conv'),
    'linear': _linear,
    'bernoulli': _bernoulli,
    **variants.code_sizes('code_size'),
}
VARIANTS = tuple(_VARIANTS)
