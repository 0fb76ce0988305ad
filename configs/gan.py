"""DCGAN (Radford et al., 2015) on Fashion-MNIST, with Goodfellow et al.'s (2014) game.

    python -m experiments.gan --config=configs/gan.py:cpu --workdir=runs/gan

Variants, comma-separated after ':': smoke (seconds, on 8x8 digits, class-conditional),
cpu (docs/results/gan.md's run; see `_cpu`), minimax (G minimises log(1 - D(G(z))), the game
itself, instead of the non-saturating -log D(G(z))), cond (class-conditional p(x|y)),
r1 (the R1 penalty on D, gamma 1), sn (spectral norm on every layer of D, no BatchNorm
in D), mnist.
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


# get_config's variants by name, applied in the order the arg lists them.
_VARIANTS = {
    'smoke': _smoke,
    'cpu': _cpu,
    'minimax': lambda c: setattr(c.objective, 'generator_loss', 'minimax'),
    'cond': lambda c: setattr(c.model, 'conditional', True),
    'r1': lambda c: setattr(c.objective, 'r1_gamma', 1.0),
    'sn': lambda c: setattr(c.model, 'spectral_norm', True),
    'mnist': lambda c: setattr(c.data, 'name', 'mnist'),
}
VARIANTS = tuple(_VARIANTS)
