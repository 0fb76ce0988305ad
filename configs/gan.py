"""DCGAN (Radford et al., 2016) on Fashion-MNIST, with Goodfellow et al.'s (2014) game.

    python -m experiments.gan --config=configs/gan.py:cpu --workdir=runs/gan
    python -m experiments.gan --config=configs/gan.py:lsun64 --workdir=runs/gan_lsun64

Variants, comma-separated after ':': smoke (seconds, on 8x8 digits, class-conditional),
cpu (docs/results/gan.md's run; see `_cpu`), minimax (G minimises log(1 - D(G(z))), the game
itself, instead of the non-saturating -log D(G(z))), cond (class-conditional p(x|y)),
r1 (the R1 penalty on D, gamma 1), sn (spectral norm on every layer of D, no BatchNorm
in D), mnist.
Paper variants (Radford et al., 2016, section 4 and Fig. 1): lsun64 (LSUN bedrooms at
64x64: G 100-d uniform z -> 4x4x1024 -> 8x8x512 -> 16x16x256 -> 32x32x128 -> 64x64x3, D
its mirror; Adam 2e-4, beta1 0.5, batch 128, no EMA, five epochs as their Fig. 3) and
cifar10 (the same at 32x32: 4x4x512 -> ... -> 32x32x3); the paper reports samples, not a
score, for these. Each has a `_smoke` counterpart (lsun64_smoke, cifar10_smoke): the same
dataset and image size, tiny widths, seconds. They score no Fréchet distance: the
classifier feature space here is the 28x28 grayscale one.
Default: z of 100 dimensions, G 100 -> 7x7x128 -> 14x14x64 -> 28x28, D 28x28 -> 14x14x64
-> 7x7x128 -> logit; Adam 2e-4 with beta1 0.5 for both, batch 128 (Radford et al.; pytorch's
example uses 64), 25 epochs (pytorch's example); EMA of G's weights 0.999 for sampling;
1,000 of the 60,000 training images held out to choose the Parzen window.
"""

from configs import variants
from genjax.config import lock
from genjax.families import gan

CLASSIFIER = 'runs/classifier'  # experiments/classifier.py's run (docs/results/gan.md)


def get_config(arg: str | None = None):
  c = gan.schema()
  c.family = 'gan'
  c.data.binarize = 'none'
  c.batch_size = 128
  c.total_epochs = 25.0
  c.steps_per_call = 10
  c.optimizer.learning_rate = 2e-4
  c.optimizer.beta1 = 0.5
  c.ema_decay = 0.999
  c.log_every = 100
  c.eval_every = 2000
  c.ckpt_every = 2000
  c.figures_every = 2000
  c.eval.classifier = CLASSIFIER
  variants.apply(c, arg, _VARIANTS)
  return lock(c)


def _smoke(c):
  variants.smoke(c)
  c.ema_decay = 0.9
  c.model.latent_dim = 8
  c.model.channels = 8
  c.model.conditional = True
  c.data.validation_examples = 64
  c.eval.test_examples = 96
  c.eval.num_samples = 16
  c.eval.samples_per_class = 2
  c.eval.interpolations = 2
  c.eval.interpolation_steps = 4
  c.eval.calibration_samples = 64
  c.eval.frechet_samples = 0  # a smoke run has no classifier; the test passes one


def _cpu(c):
  # pytorch/examples' batch of 64 and the paper's widths. A step (one D and one G step)
  # ran at 8.8 steps/s on the idle 2-core CPU: 15,000 steps (16 epochs of 59,000 images;
  # the example trains 25) take about 30 minutes alone.
  c.batch_size = 64
  c.total_steps = 15000
  c.total_epochs = 0.0
  c.log_every = 50
  c.eval_every = 1000
  c.ckpt_every = 1000
  c.figures_every = 1000


def _paper(c, dataset, image_size=0):
  c.data.name = dataset
  c.data.image_size = image_size
  c.data.channels = 3
  c.model.latent = 'uniform'
  c.model.channels = 128  # 32x32x128 below the image, 1024 at 4x4 for 64x64 (Fig. 1)
  c.ema_decay = 0.0  # the paper samples its generator as trained
  c.total_epochs = 5.0
  c.eval.frechet_samples = 0
  c.eval.classifier = ''


def _paper_smoke(c, paper):
  paper(c)
  variants.smoke(c, dataset=None)  # the paper's dataset and size, seconds of work
  c.model.latent_dim = 8
  c.model.channels = 4
  c.data.validation_examples = 0
  c.eval.test_examples = 64
  c.eval.num_samples = 16
  c.eval.interpolations = 2
  c.eval.interpolation_steps = 4


def _lsun64(c):
  _paper(c, 'lsun/bedroom', 64)


def _cifar10(c):
  _paper(c, 'cifar10')


# get_config's variants by name, applied in the order the arg lists them.
_VARIANTS = {
    'smoke': _smoke,
    'cpu': _cpu,
    'minimax': lambda c: setattr(c.objective, 'generator_loss', 'minimax'),
    'cond': lambda c: setattr(c.model, 'conditional', True),
    'r1': lambda c: setattr(c.objective, 'r1_gamma', 1.0),
    'sn': lambda c: setattr(c.model, 'spectral_norm', True),
    'mnist': lambda c: setattr(c.data, 'name', 'mnist'),
    'lsun64': _lsun64,
    'lsun64_smoke': lambda c: _paper_smoke(c, _lsun64),
    'cifar10': _cifar10,
    'cifar10_smoke': lambda c: _paper_smoke(c, _cifar10),
}
VARIANTS = tuple(_VARIANTS)

# Each paper variant and its smoke counterpart: the same dataset and image structure, in
# seconds.
PAPER_VARIANTS = {'lsun64': 'lsun64_smoke', 'cifar10': 'cifar10_smoke'}
