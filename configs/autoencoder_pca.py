"""Hinton & Salakhutdinov's (2006) Fig. 2 comparison on Fashion-MNIST: squared error per
test image against code size, for PCA, the linear autoencoder and the MLP autoencoder.

    python -m experiments.autoencoder_pca --config=configs/autoencoder_pca.py \
        --workdir=runs/autoencoder_pca

For each k in 2, 5, 10, 20, 30, 50 it trains configs/pca.py, configs/autoencoder.py:linear
and configs/autoencoder.py into <workdir>/<model>_k<k>, and a VAE of configs/vae.py with a
2-D latent and a Gaussian decoder into <workdir>/vae_k2; then it draws <workdir>/figures:
error_vs_code_size.png, reconstructions_k{2,10,30}.png and codes_2d.png, and writes
summary.json with whether the autoencoder's error is at or below PCA's at every k.
Their MNIST numbers at k = 30 (Fig. 2): autoencoder 3.00, PCA 13.87. Variants: smoke (k = 2, 5 on
the 8x8 digits, seconds), cpu (20 epochs per autoencoder instead of 50: about 35 minutes
on 2 cores), mnist, conv (a conv autoencoder as the nonlinear model). A field of one
model's runs: --config.autoencoder.<field>=..., likewise pca, linear_autoencoder and vae.
"""

import ml_collections

from configs import autoencoder as ae_config
from configs import pca as pca_config
from configs import vae as vae_config
from configs import variants

_CPU_EPOCHS = 20.0
# smoke and mnist reach every run; conv only the nonlinear autoencoder; cpu shortens both
# autoencoders' training.
VARIANTS = ('smoke', 'cpu', 'mnist', 'conv')


def get_config(arg: str | None = None):
  names = variants.parse(arg, VARIANTS)
  shared = [n for n in names if n in ('smoke', 'mnist')]
  own = [n for n in names if n != 'cpu']
  c = ml_collections.ConfigDict()
  c.pca = pca_config.get_config(','.join(shared))
  c.linear_autoencoder = ae_config.get_config(','.join(shared + ['linear']))
  c.autoencoder = ae_config.get_config(','.join(own))
  c.vae = vae_config.get_config(','.join(shared + ['z2', 'gaussian']))
  c.vae.eval.final_iwae_k = 0  # only its codes are used here: skip the k = 500 bound
  if 'cpu' in names:
    for model in (c.linear_autoencoder, c.autoencoder):
      model.total_epochs = _CPU_EPOCHS
  smoke = 'smoke' in names
  c.code_sizes = (2, 5) if smoke else variants.CODE_SIZES
  c.grid_code_sizes = (2, 5) if smoke else (2, 10, 30)
  c.lock()
  return c
