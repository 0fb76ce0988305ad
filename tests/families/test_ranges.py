"""Each family's RANGES spells out the choices its models and objectives accept."""

from genjax.diffusion import schedules
from genjax.families import autoregressive, classifier, diffusion, vae
from genjax.models import pixels
from genjax.models import vae as vae_model


def test_vae_choices_are_the_models():
  assert vae.RANGES['model.activation'] == tuple(sorted(vae_model.ACTIVATIONS))
  assert vae.RANGES['model.architecture'] == vae_model.ARCHITECTURES
  assert vae.RANGES['model.likelihood'] == vae_model.LIKELIHOODS


def test_autoregressive_choices_are_the_models():
  assert autoregressive.RANGES['model.architecture'] == autoregressive.ARCHITECTURES
  assert autoregressive.RANGES['model.likelihood'] == pixels.LIKELIHOODS


def test_diffusion_choices_are_the_schedules():
  assert diffusion.RANGES['objective.schedule'] == schedules.SCHEDULES


def test_every_family_passes_its_ranges_to_the_loop():
  for module in (vae, autoregressive, diffusion, classifier):
    assert module.FAMILY.ranges is module.RANGES
