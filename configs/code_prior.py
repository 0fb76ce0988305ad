"""Stage 2 of a VQ-VAE: an autoregressive prior over a trained stage 1's codes.

    python -m experiments.code_prior --config=configs/code_prior.py:cpu \
        --config.data.stage1_workdir=runs/vqvae --config.eval.classifier=runs/classifier \
        --workdir=runs/code_prior

Variants, comma-separated after ':': smoke (seconds, no Fréchet distance; with no
--config.data.stage1_workdir it first trains stage 1's smoke run, configs/vqvae.py:smoke,
into <workdir>/stage1), cpu (docs/results/vqvae.md's run: 32 channels, batch 64, 8,000
steps), transformer (the causal Transformer instead of the Gated PixelCNN), cond (a
class-conditional prior p(z | y)), naive (figures from the full-network-per-code
sampler), var_baseline (the raster Transformer with
configs/var.py:cpu's width, depth, optimiser, batch and steps: VAR's head-to-head
baseline over the same multi-scale tokens; it sets the budget itself, with or without cpu),
cifar10 (the prior over the codes of configs/vqvae.py:cifar10, van den Oord et al.'s
8x8x10 field on CIFAR-10, trained first when no stage1_workdir is named: a [8, 80] grid
read in raster order: row, column, then the 10 codes of a position; a convolutional
prior's receptive field counts grid columns, so on this grid it spans a tenth as many
positions across as on an 8x8 one, while `cifar10,transformer` sees the whole past),
cifar10_smoke (the same over configs/vqvae.py:cifar10_smoke's codes, seconds).
Default: a Gated PixelCNN of 8 gated layers, 64 channels, over K-way code tokens (van den
Oord et al.'s (2017) PixelCNN prior over the 7x7 codes), Adam 3e-4, batch 128, 30 epochs of
codes; 1,000 samples scored by the Fréchet distance against the test set beside its floor.

Stage 1 trained first: with --config.data.stage1_workdir empty and
--config.data.stage1_config set (smoke sets 'smoke'), the main trains that configs/vqvae.py
config into <workdir>/stage1 through the same loop (a rerun finds it finished), then the
prior over its codes. The field is what follows `--config=configs/vqvae.py:` in stage 1's
own command: its variants.
"""

from configs import variants
from genjax.config import ConfigError, lock
from genjax.families import code_prior


def get_config(arg: str | None = None):
  c = code_prior.schema()
  c.family = 'code_prior'
  c.batch_size = 128
  c.total_epochs = 30.0
  c.steps_per_call = 10
  c.log_every = 200
  c.eval_every = 4680
  c.ckpt_every = 1000
  c.figures_every = 0
  c.optimizer.learning_rate = 3e-4
  c.optimizer.grad_clip_norm = 1.0
  variants.apply(c, arg, _VARIANTS)
  return lock(c)


def stage1_config(spec: str):
  """The configs/vqvae.py config that `data.stage1_config` names by its variants ('smoke',
  'smoke,multiscale'); an unknown variant is refused in one line naming the field."""
  from configs import vqvae as vqvae_config  # pylint: disable=g-import-not-at-top
  try:
    return vqvae_config.get_config(spec)
  except ConfigError as e:
    raise ConfigError(f'data.stage1_config={spec!r}: {e}') from None


def _smoke(c):
  variants.smoke(c, dataset=None)  # the codes come from the stage-1 run
  c.data.stage1_config = 'smoke'  # trained first when no stage1_workdir is named
  c.model.num_layers = 2
  c.model.channels = 8
  c.model.output_hidden = 8
  c.model.dim = 16
  c.model.num_heads = 2
  c.eval.num_samples = 8
  c.eval.samples_per_class = 2
  c.eval.frechet_samples = 0


def _cpu(c):
  # Half the width and half the batch: at 64 channels and batch 128 a step takes ~1 s on
  # 2 shared cores; this is 8x less work per step.
  c.model.channels = 32
  c.batch_size = 64
  c.total_epochs = 0.0
  c.total_steps = 8000
  c.eval_every = 2000
  c.ckpt_every = 500


def _transformer(c):
  c.model.architecture = 'transformer'
  c.model.num_layers = 4
  c.model.dim = 128
  c.model.num_heads = 4


def _var_baseline(c):
  from configs import var as var_config  # pylint: disable=g-import-not-at-top
  v = var_config.get_config('cpu')
  c.model.architecture = 'transformer'
  c.model.conditional = True
  for field in ('dim', 'num_heads', 'num_layers', 'mlp_ratio'):
    setattr(c.model, field, v.model[field])
  c.optimizer.update(v.optimizer.to_dict())
  for field in ('batch_size', 'total_steps', 'total_epochs', 'total_examples', 'eval_every',
                'ckpt_every'):
    setattr(c, field, v[field])


def _cifar10(c):
  c.data.stage1_config = 'cifar10'
  c.data.name, c.data.channels = 'cifar10', 3  # stage 1's data, which the codes come from
  c.eval.frechet_samples = 0  # the classifier feature space here is the 28x28 grayscale one


def _cifar10_smoke(c):
  _cifar10(c)
  _smoke(c)
  c.data.stage1_config = 'cifar10_smoke'


# get_config's variants by name, applied in the order the arg lists them.
_VARIANTS = {
    'smoke': _smoke,
    'cpu': _cpu,
    'transformer': _transformer,
    'cond': lambda c: setattr(c.model, 'conditional', True),
    'naive': lambda c: setattr(c.eval, 'sampler', 'naive'),
    'var_baseline': _var_baseline,
    'cifar10': _cifar10,
    'cifar10_smoke': _cifar10_smoke,
}
VARIANTS = tuple(_VARIANTS)

# Each paper variant and its smoke counterpart: the same dataset and image structure, in
# seconds.
PAPER_VARIANTS = {'cifar10': 'cifar10_smoke'}
