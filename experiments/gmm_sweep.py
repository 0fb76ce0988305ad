"""A Gaussian mixture for each number of components on each dataset, then the figures of
log-likelihood, BIC and samples. Config: configs/gmm_sweep.py."""

import json
import os

from genjax import launch
from genjax.families import gmm
from genjax.figures import gmm as figures
from genjax.training.loop import train_and_evaluate


def train_sweep(config, workdir: str) -> dict:
  runs = [(name, k) for name in config.datasets for k in config.components[name]]
  for i, (name, k) in enumerate(runs):
    run = config[name].copy_and_resolve_references()
    run.model.components = k
    train_and_evaluate(gmm.FAMILY, run, figures.run_dir(workdir, name, k),
                       final_eval_again=launch.final_eval_again(),
                       label=f'run {i + 1}/{len(runs)} ({name}, K={k})',
                       runs_after=len(runs) - i - 1)
  summary = {name: figures.dataset_summary(workdir, name, config.components[name])
             for name in config.datasets}
  with open(os.path.join(workdir, 'summary.json'), 'w') as f:
    json.dump(summary, f, indent=2)
  figures.sweep_figures(workdir, summary)
  return summary


if __name__ == '__main__':
  launch.run(train_sweep)
