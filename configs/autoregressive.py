"""Autoregressive models with exact likelihood on binarised Fashion-MNIST.

    python -m experiments.autoregressive --config=configs/autoregressive.py:gated \
        --workdir=runs/gated_pixelcnn

Variants, comma-separated after ':': one architecture - pixelcnn (the default; van den
Oord et al., 2016a: 7x7 type-A mask, residual blocks, h=64), gated (Gated PixelCNN, van
den Oord et al., 2016b), transformer (image-GPT style, 4 blocks of width 128), lstm (one
256-unit LSTM over the raster sequence); and modifiers - cond (p(x|y) via a label
embedding), sinusoidal (fixed Transformer positions), gray8 (8-bit pixels, 256-way
softmax, no binarisation), mnist, naive (figures from the full-network-per-pixel sampler),
smoke (seconds, on 8x8 digits; combine with an architecture, e.g. 'smoke,transformer'),
cpu (about 12 minutes of training on 2 CPU cores, docs/results/autoregressive.md's table;
put it after the architecture, e.g. 'gated,cpu').
Test NLL is exact: nats per image and bits/dim, on the whole test set.
"""

from configs import variants
from genjax.config import lock
from genjax.families import autoregressive


def get_config(arg: str | None = None):
  c = autoregressive.schema()
  c.family = 'autoregressive'
  c.batch_size = 64
  c.total_epochs = 20.0
  c.steps_per_call = 10
  c.log_every = 500
  c.eval_every = 4690
  c.ckpt_every = 4690
  c.figures_every = 0
  c.optimizer.learning_rate = 3e-4
  c.optimizer.grad_clip_norm = 1.0
  variants.apply(c, arg, _VARIANTS)
  return lock(c)


def _pixelcnn(c):
  c.model.architecture = 'pixelcnn'
  c.model.num_layers = 7
  c.model.channels = 64


def _gated(c):
  c.model.architecture = 'gated_pixelcnn'
  c.model.num_layers = 10
  c.model.channels = 64


def _transformer(c):
  c.model.architecture = 'transformer'
  c.model.num_layers = 4
  c.model.dim = 128
  c.model.num_heads = 4


def _lstm(c):
  c.model.architecture = 'lstm'
  c.model.num_layers = 1
  c.model.hidden = 256
  c.optimizer.learning_rate = 1e-3


# Steps that take about 12 minutes on 2 CPU cores at the `cpu` widths.
_CPU_STEPS = {'pixelcnn': 750, 'gated_pixelcnn': 750, 'lstm': 750, 'transformer': 250}


def _cpu(c):
  """A fixed CPU budget instead of 20 epochs, with narrower Gated/LSTM/Transformer nets."""
  arch = c.model.architecture
  c.total_epochs = 0.0
  c.total_steps = _CPU_STEPS[arch]
  if arch == 'gated_pixelcnn':
    c.model.channels = 32
  elif arch == 'lstm':
    c.model.hidden = 128
  elif arch == 'transformer':  # attention over 784 positions is memory-bound on CPU
    c.model.dim = 64
    c.model.num_layers = 2
    c.model.num_heads = 2
  c.log_every = 50
  c.eval_every = 0
  c.ckpt_every = 50
  c.eval.train_examples = 2000
  c.eval.num_samples = 36
  c.eval.samples_per_class = 6
  c.eval.num_completions = 8


def _gray8(c):
  c.model.likelihood = 'categorical'
  c.data.binarize = 'none'


def _smoke(c):
  """Tiny widths; the architecture stays whatever the other variants pick."""
  variants.smoke(c)
  c.model.num_layers = 2
  c.model.channels = 8
  c.model.output_hidden = 8
  c.model.first_kernel = 3
  c.model.dim = 16
  c.model.num_heads = 2
  c.model.hidden = 16
  c.model.embed_dim = 8
  c.eval.train_examples = 96
  c.eval.num_samples = 16
  c.eval.samples_per_class = 2
  c.eval.num_completions = 4


# get_config's variants by name, applied in the order the arg lists them.
_VARIANTS = {
    'smoke': _smoke,
    'pixelcnn': _pixelcnn,
    'gated': _gated,
    'transformer': _transformer,
    'lstm': _lstm,
    'cond': lambda c: setattr(c.model, 'conditional', True),
    'sinusoidal': lambda c: setattr(c.model, 'positions', 'sinusoidal'),
    'gray8': _gray8,
    'mnist': lambda c: setattr(c.data, 'name', 'mnist'),
    'naive': lambda c: setattr(c.eval, 'sampler', 'naive'),
    'cpu': _cpu,
}
VARIANTS = tuple(_VARIANTS)
