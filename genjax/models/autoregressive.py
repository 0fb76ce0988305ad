"""The autoregressive image networks by name: `make_model` builds the one a run's model
config names, for the autoregressive family, the code prior and the tools that read them.

'pixelcnn' (masked convolutions), 'gated_pixelcnn' (vertical and horizontal gated stacks),
'transformer' (causal self-attention over the raster sequence) or 'lstm'; all share the
heads of `genjax.models.pixels`.
"""

from __future__ import annotations

from genjax.config import ConfigError
from genjax.models.gated_pixelcnn import GatedPixelCNN
from genjax.models.lstm import PixelLSTM
from genjax.models.pixelcnn import PixelCNN
from genjax.models.transformer import PixelTransformer

ARCHITECTURES = ('pixelcnn', 'gated_pixelcnn', 'transformer', 'lstm')


def make_model(m, image_shape, num_classes: int, num_codes: int = 0, dtype: str = 'float32',
               remat: str = 'none'):
  """The network named by m.architecture; num_classes > 0 makes it class-conditional.

  With m.likelihood == 'codes' it models a grid of num_codes-way VQ-VAE codes. The last
  axis of image_shape [H, W, C] is the number of colours. `dtype` is the network's
  computation (its params and logits are float32); `remat` (`genjax.models.remat.REMAT`)
  recomputes the Transformer's blocks in the backward pass, which the other networks,
  without blocks to recompute, refuse.
  """
  if remat != 'none' and m.architecture != 'transformer':
    raise ConfigError(f"model.remat={remat!r} recomputes Transformer blocks; the "
                      f"{m.architecture} has none: set --config.model.remat=none.")
  common = dict(likelihood=m.likelihood, num_classes=num_classes, num_codes=num_codes,
                dtype=dtype)
  channels = (tuple(image_shape) + (1,))[2]
  # Runs saved before the mixture existed have no num_mixtures in their model config.
  conv = dict(common, image_channels=channels, num_mixtures=m.get('num_mixtures', 0)
              if m.likelihood == 'logistic_mixture' else 0)
  if m.architecture == 'pixelcnn':
    return PixelCNN(channels=m.channels, num_blocks=m.num_layers, first_kernel=m.first_kernel,
                    kernel=m.kernel, output_hidden=m.output_hidden, **conv)
  if m.architecture == 'gated_pixelcnn':
    return GatedPixelCNN(channels=m.channels, num_layers=m.num_layers,
                         first_kernel=m.first_kernel, kernel=m.kernel,
                         output_hidden=m.output_hidden, **conv)
  if m.architecture == 'transformer':
    return PixelTransformer(image_shape=tuple(image_shape), dim=m.dim, num_heads=m.num_heads,
                            num_layers=m.num_layers, mlp_ratio=m.mlp_ratio,
                            positions=m.positions, remat=remat, **common)
  if m.architecture == 'lstm':
    return PixelLSTM(hidden=m.hidden, num_layers=m.num_layers, embed_dim=m.embed_dim,
                     image_channels=channels, **common)
  raise ConfigError(f"Unknown architecture '{m.architecture}'; choose one of {ARCHITECTURES} "
                    'with --config.model.architecture.')
