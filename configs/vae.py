"""A VAE on Fashion-MNIST (Kingma & Welling, 2013), dynamically binarised, Bernoulli decoder.

    python -m experiments.vae --config=configs/vae.py --workdir=runs/vae

Variants, comma-separated after ':': smoke (seconds, on 8x8 digits), mnist, z2 (2-D latent:
manifold and class scatter), conv (convolutional encoder/decoder), cvae (p(x|y)), gaussian
(real-valued pixels, Gaussian decoder), paper (Kingma & Welling's MNIST setting: tanh,
Adagrad 0.02, batch 100, small weight decay).
Default: 784-500-20 ReLU, Adam 1e-3, batch 128, 30 epochs (the Flax example's VAE point,
test -ELBO 107.05 on binarized MNIST). Its Fashion-MNIST numbers are in RESULTS.md.
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
  variants.apply(c, arg, {
      'smoke': _smoke,
      'mnist': lambda c: setattr(c.data, 'name', 'mnist'),
      'z2': lambda c: setattr(c.model, 'latent_dim', 2),
      'conv': lambda c: setattr(c.model, 'architecture', 'conv'),
      'cvae': lambda c: setattr(c.model, 'conditional', True),
      'gaussian': _gaussian,
      'paper': _paper,
  })
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
