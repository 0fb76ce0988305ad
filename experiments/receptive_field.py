"""The receptive-field figure: PixelCNN's blind spot against the Gated PixelCNN.

    python -m experiments.receptive_field --out=results/autoregressive/receptive_field.png

The networks are built with the configs/autoregressive.py sizes named by --variant
(default 'cpu', the trained models of docs/results/autoregressive.md) at random weights: which input pixels
an output depends on is fixed by the architecture (exact zeros in the gradient).
"""

import jax
import jax.numpy as jnp
from absl import app, flags

from configs import autoregressive as configs
from genjax.models.autoregressive import make_model
from genjax.figures import autoregressive as figures
from genjax.models.receptive_field import input_dependence

_OUT = flags.DEFINE_string('out', 'receptive_field.png', 'PNG to write.')
_VARIANT = flags.DEFINE_string('variant', 'cpu', 'Config variants added to each architecture.')
_ROW = flags.DEFINE_integer('row', 14, 'Row of the output pixel.')
_COL = flags.DEFINE_integer('col', 14, 'Column of the output pixel.')

_MODELS = {'PixelCNN': 'pixelcnn', 'Gated PixelCNN': 'gated'}
_SHAPE = (28, 28, 1)


def main(argv):
  del argv
  maps = {}
  for title, arch in _MODELS.items():
    config = configs.get_config(','.join(filter(None, (arch, _VARIANT.value))))
    model = make_model(config.model, _SHAPE, num_classes=0)
    params = jax.jit(model.init)(jax.random.PRNGKey(0), jnp.zeros((1,) + _SHAPE))
    seen = input_dependence(model, params, _SHAPE, out_pixel=_ROW.value * _SHAPE[1] + _COL.value)
    maps[title] = seen.reshape(_SHAPE[:2])
  print(figures.receptive_fields(maps, (_ROW.value, _COL.value), _OUT.value))


if __name__ == '__main__':
  app.run(main)
