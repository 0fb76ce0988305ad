"""Kingma & Welling (2013) Figs. 2, 4 and 5 on Fashion-MNIST: one VAE per latent size.

    python -m experiments.vae_paper --config=configs/vae_paper.py --workdir=runs/vae_paper

Trains latent sizes 2, 3, 5, 10, 20 and 200 (Fig. 2 uses 3..200, Fig. 5 uses 2..20, Fig. 4
the 2-D one) and a conditional VAE, then draws the figures into <workdir>/figures.
Each run: 784-500-z-500-784 ReLU, Bernoulli decoder, dynamic binarisation, Adam 1e-3,
batch 100, 50 epochs (3x10^6 samples); the final test log-likelihood is IWAE with k=500.
Variants: smoke (seconds), mnist, paper (tanh + Adagrad as in the paper); any run field is
set with --config.run.<field>=..., e.g. --config.run.total_epochs=100.
"""

import ml_collections

from configs import vae as vae_config
from configs import variants

# configs/vae.py's variants that every run takes; the others would be undone per run
# (z2) or belong to other experiments.
VARIANTS = ('smoke', 'mnist', 'paper')


def get_config(arg: str | None = None):
  names = set(variants.parse(arg, VARIANTS))
  c = ml_collections.ConfigDict()
  c.run = vae_config.get_config(arg)
  c.run.unlock()
  if 'smoke' not in names:
    c.run.batch_size = 100
    c.run.total_epochs = 50.0
    c.run.eval_every = 0  # evaluations at log-spaced steps instead, for Fig. 2's log axis
    c.run.eval_log_points = 24
    c.run.ckpt_every = 3000
    c.run.log_every = 3000
  c.run.lock()
  c.latent_dims = (2, 3, 5, 10, 20, 200) if 'smoke' not in names else (2, 3)
  c.figure2_latent_dims = (3, 5, 10, 20, 200) if 'smoke' not in names else (3,)
  c.figure5_latent_dims = (2, 5, 10, 20) if 'smoke' not in names else (2, 3)
  c.conditional_latent_dim = 10 if 'smoke' not in names else 2  # 0: no conditional VAE
  c.lock()
  return c
