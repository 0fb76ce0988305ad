"""A VAE on Fashion-MNIST (Kingma & Welling, 2013), dynamically binarised, Bernoulli decoder.

    python -m experiments.vae --config=configs/vae.py --workdir=runs/vae

Variants, comma-separated after ':': smoke (seconds, on 8x8 digits), mnist, z2 (2-D latent:
manifold and class scatter), conv (convolutional encoder/decoder), cvae (p(x|y)), gaussian
(real-valued pixels, Gaussian decoder), paper (Kingma & Welling's MNIST setting: tanh,
Adagrad 0.02, batch 100, small weight decay), burda (Burda et al.'s one stochastic layer,
784-200-200-50 tanh, with test log-likelihood by IWAE at k = 5000), iwae5 and iwae50
(train on the importance-weighted bound with k = 5 or 50 instead of the ELBO), cpu (20
epochs at batch 100 and test numbers on the first 2,000 test images, the likelihood table's
budget on this CPU: k = 5000 on those 2,000 took 3.3 minutes here beside another run),
cifar10 (colour 32x32 images, convolutional, Gaussian decoder; see `_cifar10`),
cifar10_smoke (the same data and body in seconds).
Default: 784-500-20 ReLU, Adam 1e-3, batch 128, 30 epochs (the Flax example's VAE point,
test -ELBO 107.05 on binarized MNIST). Its Fashion-MNIST numbers are in docs/results/vae.md.
"""

from configs import variants
from genjax.config import lock
from genjax.families import vae


def get_config(arg: str | None = None):
  c = vae.schema()
  c.family = 'vae'
  c.batch_size = 128
  c.total_epochs = 30.0
  c.steps_per_call = 10
  c.log_every = 500
  c.eval_every = 2340
  c.ckpt_every = 2340
  c.figures_every = 0
  variants.apply(c, arg, _VARIANTS)
  return lock(c)


def _smoke(c):
  variants.smoke(c)
  c.model.hidden = (32,)
  c.eval.iwae_k = 4
  c.eval.final_iwae_k = 8
  c.eval.train_examples = 96
  c.eval.num_samples = 16
  c.eval.manifold_grid = 4


def _gaussian(c):
  c.model.likelihood = 'gaussian'
  c.data.binarize = 'none'


def _paper(c):
  c.model.activation = 'tanh'
  c.model.hidden = (500,)
  c.batch_size = 100
  c.optimizer.name = 'adagrad'
  c.optimizer.learning_rate = 0.02
  c.optimizer.weight_decay = 1e-4


def _burda(c):
  """Burda et al. (2015), Table 1, one stochastic layer: 784-200-200-50 tanh; Adam (they: batch 20,
  3,280 epochs); test log-likelihood by IWAE with k = 5000."""
  c.model.hidden = (200, 200)
  c.model.latent_dim = 50
  c.model.activation = 'tanh'
  c.eval.final_iwae_k = 5000


def _iwae(k):
  def apply(c):
    c.objective.name = 'iwae'
    c.objective.iwae_k = k
  return apply


def _cpu(c):
  c.batch_size = 100
  c.total_epochs = 20.0
  c.eval.test_examples = 2000
  c.eval_every = 6000
  c.ckpt_every = 1000


def _cifar10(c):
  """A convolutional VAE of CIFAR-10's colour images: three stride-2 convolutions (32 ->
  16 -> 8 -> 4; 32, 64, 128 channels) to a 128-d latent, their mirror back, and a Gaussian
  decoder over the 8-bit values k/255 of every colour channel. Kingma & Welling (2013) fit
  no natural images, so there is no published number to reach; this ELBO is a density of
  continuous pixels, not a discrete likelihood in bits/dim, and is comparable only with
  other runs of this variant. 100 epochs of batch 128."""
  c.data.name = 'cifar10'
  c.data.channels = 3
  _gaussian(c)
  c.model.architecture = 'conv'
  c.model.conv_channels = (32, 64, 128)
  c.model.latent_dim = 128
  c.batch_size = 128
  c.total_epochs = 100.0
  c.log_every = 500
  c.eval_every = 3910  # 10 epochs of 50,000
  c.ckpt_every = 3910


def _cifar10_smoke(c):
  """cifar10's colour data and conv body, shrunk to seconds."""
  _cifar10(c)
  variants.smoke(c, dataset=None)
  c.model.conv_channels = (8, 16)
  c.model.latent_dim = 8
  c.eval.test_examples = 64
  c.eval.iwae_k = 4
  c.eval.final_iwae_k = 8
  c.eval.train_examples = 64
  c.eval.num_samples = 16


# get_config's variants by name, applied in the order the arg lists them.
_VARIANTS = {
    'smoke': _smoke,
    'mnist': lambda c: setattr(c.data, 'name', 'mnist'),
    'z2': lambda c: setattr(c.model, 'latent_dim', 2),
    'conv': lambda c: setattr(c.model, 'architecture', 'conv'),
    'cvae': lambda c: setattr(c.model, 'conditional', True),
    'gaussian': _gaussian,
    'paper': _paper,
    'burda': _burda,
    'iwae5': _iwae(5),
    'iwae50': _iwae(50),
    'cpu': _cpu,
    'cifar10': _cifar10,
    'cifar10_smoke': _cifar10_smoke,
}
VARIANTS = tuple(_VARIANTS)

# Each paper variant and its smoke counterpart: the same dataset and image structure, in
# seconds.
PAPER_VARIANTS = {'cifar10': 'cifar10_smoke'}
