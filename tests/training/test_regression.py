"""Pinned results of a smoke run: a change to the loop, the data or the keys that moves
them shows up here. They have held through every redesign of the loop."""

import json

import pytest

from tests.smoke_runs import trained

VAE_SMOKE_FINAL = {'step': 8, 'elbo': -52.78050031565657, 'iwae_8': -48.560244370791246,
                   'kl': 2.9100892551820285, 'recon': -49.870413115530305}


def test_the_vae_smoke_run_gives_its_recorded_metrics():
  final = json.loads((trained('vae').workdir / 'final_metrics.json').read_text())
  assert final == pytest.approx(VAE_SMOKE_FINAL, rel=1e-4)
