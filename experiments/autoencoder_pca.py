"""PCA against the linear and the nonlinear autoencoder at each code size, and the figure
of their test errors. Config: configs/autoencoder_pca.py."""

import json
import os

from genjax import launch
from genjax.families import autoencoder, pca, vae
from genjax.figures import autoencoder_pca as figures
from genjax.training.loop import train_and_evaluate

MODELS = {'pca': (pca.FAMILY, 'n_components'),
          'linear_autoencoder': (autoencoder.FAMILY, 'code_size'),
          'autoencoder': (autoencoder.FAMILY, 'code_size')}


# Only its 2-D codes are drawn, beside PCA's and the autoencoders'.
CODES_2D = {**MODELS, 'vae': (vae.FAMILY, 'latent_dim')}


def train_sweep(config, workdir: str) -> dict:
  runs = [(model, k) for k in config.code_sizes for model in MODELS] + [('vae', 2)]
  for i, (model, k) in enumerate(runs):
    family_def, field = CODES_2D[model]
    run = config[model].copy_and_resolve_references()
    run.model[field] = k
    train_and_evaluate(family_def, run, figures.run_dir(workdir, model, k),
                       final_eval_again=launch.final_eval_again(),
                       label=f'run {i + 1}/{len(runs)} ({model}, k={k})',
                       runs_after=len(runs) - i - 1)
  errors = figures.final_errors(workdir, MODELS, config.code_sizes)
  summary = {'code_sizes': list(config.code_sizes), 'squared_error': errors,
             'autoencoder_at_or_below_pca': all(
                 a <= p for a, p in zip(errors['autoencoder'], errors['pca']))}
  with open(os.path.join(workdir, 'summary.json'), 'w') as f:
    json.dump(summary, f, indent=2)
  out = os.path.join(workdir, 'figures')
  figures.error_against_code_size(errors, config.code_sizes,
                                  os.path.join(out, 'error_vs_code_size.png'))
  for k in config.grid_code_sizes:
    figures.reconstruction_grid(workdir, MODELS, k,
                                os.path.join(out, f'reconstructions_k{k}.png'))
  figures.codes_side_by_side(workdir, CODES_2D, os.path.join(out, 'codes_2d.png'))
  return summary


if __name__ == '__main__':
  launch.run(train_sweep)
