"""Kingma & Welling (2013) Figs. 2, 4 and 5 from one command. Config: configs/vae_paper.py."""

import json
import os

from genjax import launch
from genjax.families import vae
from genjax.figures import vae as vae_figures
from genjax.training.loop import train_and_evaluate


def train_sweep(config, workdir: str) -> dict:
  runs = {}
  for dim in config.latent_dims:
    runs[f'z{dim}'] = (dim, False)
  if config.conditional_latent_dim:
    runs['cvae'] = (config.conditional_latent_dim, True)
  summary = {}
  for i, (name, (dim, conditional)) in enumerate(runs.items()):
    run = config.run.copy_and_resolve_references()
    run.model.latent_dim = dim
    run.model.conditional = conditional
    summary[name] = train_and_evaluate(
        vae.FAMILY, run, os.path.join(workdir, name), final_eval_again=launch.final_eval_again(),
        label=f'model {i + 1}/{len(runs)} ({name})', runs_after=len(runs) - i - 1)
  with open(os.path.join(workdir, 'summary.json'), 'w') as f:
    json.dump(summary, f, indent=2)
  vae_figures.paper_figures(workdir, config.figure2_latent_dims, config.figure5_latent_dims,
                            batch_size=config.run.batch_size)
  return summary


if __name__ == '__main__':
  launch.run(train_sweep)
