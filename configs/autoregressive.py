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

Colour, on CIFAR-10 (32x32x3; bits/dim over the 3072 sub-pixels, R before G before B
within a pixel, van den Oord et al., 2016a, sec. 3.4):

    python -m experiments.autoregressive --config=configs/autoregressive.py:gated,cifar10 \
        --workdir=runs/gated_cifar10

cifar10 - 8-bit colour, a 256-way softmax per colour; after an architecture it sets what
its paper states. PixelCNN (the default; van den Oord et al., 2016a, sec. 5.3 and Table 5:
3.14 bits/dim on the test set): 15 layers of h=128, batch 16; the paper trains with
RMSProp at a hand-set learning rate it does not give, here Adam at 3e-4, and gives neither
the run length nor the output layers' width (1024 here). Gated PixelCNN
(configs/autoregressive.py:gated,cifar10; van den Oord et al., 2016b, Table 1: 3.03
bits/dim test): the paper states no CIFAR-10 architecture; this takes the one it states
for ImageNet (sec. 3.1: 20 layers of 384 units with 5x5 filters, total batch 128, 200K
updates); its optimiser, learning rate and output width are not stated (Adam at 3e-4 and
1024 here). That is 117M parameters, and XLA's memory analysis of one training step at
batch 128 comes to about 93 GiB: more than one 80 GB GPU holds, so run it over two or more
devices (the batch is global; the paper used 32 GPUs). A transformer or lstm gets the data
and head only (no paper number).
pixelcnnpp - cifar10 with PixelCNN++'s discretised mixture of 10 logistics over whole
pixels (Salimans et al., 2017, sec. 2.1-2.2) on this PixelCNN or, after gated, the Gated
PixelCNN; PixelCNN++'s own network (downsampling, short-cuts, dropout) reaches 2.92
bits/dim (Table 1), which these networks should not be expected to match.
cifar10_smoke, pixelcnnpp_smoke - the same data and heads, shrunk to seconds (e.g.
configs/autoregressive.py:gated,cifar10_smoke).
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


def _cifar10(c):
  """8-bit CIFAR-10 with a 256-way softmax per colour; each paper's stated settings."""
  c.data.name = 'cifar10'
  c.data.channels = 3
  c.data.binarize = 'none'
  c.model.likelihood = 'categorical'
  c.eval.test_examples = 0
  c.total_epochs = 20.0
  c.eval_every = c.ckpt_every = 5000
  if c.model.architecture == 'pixelcnn':  # van den Oord et al. (2016a), sec. 5.3
    c.model.num_layers = 15
    c.model.channels = 128
    c.model.output_hidden = 1024
    c.batch_size = 16
  elif c.model.architecture == 'gated_pixelcnn':  # van den Oord et al. (2016b), sec. 3.1
    c.model.num_layers = 19  # gated layers after the first: 20 in all
    c.model.channels = 384
    c.model.first_kernel = 5
    c.model.kernel = 5
    c.model.output_hidden = 1024
    c.batch_size = 128
    c.total_epochs = 0.0
    c.total_steps = 200_000


def _pixelcnnpp(c):
  """cifar10 with the discretised logistic mixture (Salimans et al., 2017)."""
  _cifar10(c)
  c.model.likelihood = 'logistic_mixture'
  c.model.num_mixtures = 10


def _colour_smoke(c, paper):
  """The colour paper variant `paper` shrunk to seconds: its data and heads, tiny widths,
  few sampled images (each costs 32 * 32 * 3 sequential steps)."""
  paper(c)
  variants.smoke(c, dataset=None)
  _tiny(c)
  c.batch_size = 8  # the Transformer attends over 3072 sub-pixels
  c.eval_batch_size = 16
  c.eval.test_examples = 32
  c.eval.train_examples = 16
  c.eval.num_samples = 4
  c.eval.samples_per_class = 1
  c.eval.num_completions = 2


def _smoke(c):
  """Tiny widths; the architecture stays whatever the other variants pick."""
  variants.smoke(c)
  _tiny(c)


def _tiny(c):
  c.model.num_layers = 2
  c.model.channels = 8
  c.model.output_hidden = 8
  c.model.first_kernel = 3
  c.model.kernel = 3
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
    'cifar10': _cifar10,
    'cifar10_smoke': lambda c: _colour_smoke(c, _cifar10),
    'pixelcnnpp': _pixelcnnpp,
    'pixelcnnpp_smoke': lambda c: _colour_smoke(c, _pixelcnnpp),
}
VARIANTS = tuple(_VARIANTS)

# Each paper variant and its smoke counterpart: the same dataset and image structure, in
# seconds.
PAPER_VARIANTS = {'cifar10': 'cifar10_smoke', 'gated,cifar10': 'gated,cifar10_smoke',
                  'pixelcnnpp': 'pixelcnnpp_smoke', 'gated,pixelcnnpp': 'gated,pixelcnnpp_smoke'}
