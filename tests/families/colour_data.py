"""Random colour images in place of a dataset's, so that the colour paper variants' smoke
counterparts train in process without the dataset: every reader of a config's splits
(`load_splits` where it is imported) gets uint8 [N, H, W, C] arrays of the asked-for name."""

import numpy as np

from genjax.data.sources import ImageArrays

# The modules that read a config's dataset through `load_splits`.
READERS = ('genjax.data.image_data', 'genjax.stage2.first_stage', 'genjax.evals.frechet_setup')


def fake_splits(monkeypatch, name: str, shape: tuple[int, int, int], num_classes: int,
                sizes: tuple[int, int] = (160, 96)) -> None:
  """Makes `load_splits` return random images of `shape` for dataset `name` (refusing any
  other name, so a variant that reads the wrong dataset fails)."""
  rng = np.random.default_rng(0)

  def split(split_name, n):
    return ImageArrays(name, split_name, rng.integers(0, 256, (n, *shape), dtype=np.uint8),
                       rng.integers(0, max(num_classes, 1), n).astype(np.int32),
                       source='test', num_classes=num_classes)

  splits = split('train', sizes[0]), split('test', sizes[1])

  def load_splits(d):
    assert d.name == name, (d.name, name)
    return splits

  for module in READERS:
    monkeypatch.setattr(f'{module}.load_splits', load_splits)
