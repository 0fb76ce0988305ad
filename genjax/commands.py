"""What a user types: the commands that train each run a tool or a second stage reads, and
the family names saved runs may carry.

A refusal that needs a run another command makes (the Fréchet distance's classifier, a
second stage's VQ-VAE, a tool's trained model) names the command from here, so a message
and the README say the same thing. This module imports nothing: every layer of genjax may
read it.
"""

# Training commands, as a refusal prints them.
CLASSIFIER = ('python -m experiments.classifier --config=configs/classifier.py '
              '--workdir=runs/classifier')
DIFFUSION = 'python -m experiments.diffusion --config=configs/diffusion.py --workdir=runs/ddpm'
GAN = 'python -m experiments.gan --config=configs/gan.py:cpu --workdir=runs/gan'
VQVAE = 'python -m experiments.vqvae --config=configs/vqvae.py:cpu --workdir=runs/vqvae'
# VAR's stage 1: a VQ-VAE with multi-scale tokens.
VAR_TOKENIZER = ('python -m experiments.vqvae --config=configs/vqvae.py:cpu,multiscale '
                 '--workdir=runs/var_tokenizer')
VAR = ('python -m experiments.var --config=configs/var.py:cpu '
       '--config.data.stage1_workdir=runs/var_tokenizer ...')
# The raster prior over VAR's tokens, VAR's baseline.
RASTER_PRIOR = ('python -m experiments.code_prior --config=configs/code_prior.py:cpu,'
                'var_baseline --config.data.stage1_workdir=runs/var_tokenizer ...')
CONDITIONAL_VAE = ('python -m experiments.vae_paper --config=configs/vae_paper.py '
                   '--workdir=runs/vae_paper (its cvae run)')
CONDITIONAL_AUTOREGRESSIVE = ('python -m experiments.autoregressive '
                              '--config=configs/autoregressive.py:gated,cond,cpu '
                              '--workdir=runs/ar/gated_cond')
GMM = 'python -m experiments.gmm'

# Family names that were renamed: old name -> current name. A run saved under the old name
# (its config.json, its checkpoints' signature) is the current family's run.
FAMILY_ALIASES = {
    'flow': 'glow',  # the Glow family, renamed so that "flow" can name flow matching
}


def canonical_family(name: str) -> str:
  """The current name of a family: `name` itself, or what it was renamed to."""
  return FAMILY_ALIASES.get(name, name)


def canonical_signature(signature):
  """A checkpoint signature ({'family': ..., ...}) with its family under its current name;
  anything else (None, a signature without a family) as it came."""
  if not isinstance(signature, dict) or 'family' not in signature:
    return signature
  return {**signature, 'family': canonical_family(signature['family'])}
