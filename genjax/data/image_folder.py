"""A user's own images: `<image_dir>/<split>/<class>/<file>` (png, jpg, jpeg, bmp, webp).

Labels are the class sub-folders' indices in sorted order, the same for both splits (the
train split's folders name the classes). Images are decoded as RGB and brought to
`data.image_size` (the largest central square, resized); with image_size 0 they must all
have the first image's size. Only the file list is held; images are decoded when read.
"""

from __future__ import annotations

import os

import numpy as np

from genjax.data.data_errors import DataError
from genjax.data.image_source import ReadOnDemand, centre_crop_resize

EXTENSIONS = ('.png', '.jpg', '.jpeg', '.bmp', '.webp')
LAYOUT = '<dir>/train/<class>/*.png and <dir>/test/<class>/*.png (or .jpg)'


def class_names(image_dir: str) -> list[str]:
  train = os.path.join(image_dir, 'train')
  if not os.path.isdir(train):
    return []
  return sorted(d for d in os.listdir(train) if os.path.isdir(os.path.join(train, d)))


class FolderImages(ReadOnDemand):
  """One split of an image folder."""

  def __init__(self, image_dir: str, split: str, image_size: int):
    self.name, self.split, self.source = 'image_folder', split, f'folder:{image_dir}'
    if not os.path.isdir(image_dir):
      raise DataError(f'data.image_dir={image_dir!r} is not a directory; point '
                        f'--config.data.image_dir at a folder laid out as {LAYOUT}.')
    classes = class_names(image_dir)
    if not classes:
      raise DataError(f'{image_dir}/train holds no class folders; lay the images out as '
                        f'{LAYOUT}.')
    split_dir = os.path.join(image_dir, split)
    files, labels = [], []
    for label, cls in enumerate(classes):
      cls_dir = os.path.join(split_dir, cls)
      if os.path.isdir(cls_dir):
        names = sorted(f for f in os.listdir(cls_dir) if f.lower().endswith(EXTENSIONS))
        files += [os.path.join(cls_dir, f) for f in names]
        labels += [label] * len(names)
    if not files:
      raise DataError(f'{split_dir} holds no images in the class folders of '
                        f'{image_dir}/train ({", ".join(classes[:5])}...); lay the images '
                        f'out as {LAYOUT}.')
    self._files, self._labels = files, np.asarray(labels, np.int32)
    self.num_classes = len(classes)
    self._size = image_size
    self.image_shape = tuple(self._decode(0).shape)

  def __len__(self) -> int:
    return len(self._files)

  def _decode(self, i: int) -> np.ndarray:
    from PIL import Image, UnidentifiedImageError  # pylint: disable=g-import-not-at-top
    path = self._files[i]
    try:
      with Image.open(path) as pil:
        image = np.asarray(pil.convert('RGB'))
    except (OSError, UnidentifiedImageError) as e:
      raise DataError(f'{path} cannot be read as an image ({type(e).__name__}); replace '
                        'or delete it.') from e
    if self._size:
      return centre_crop_resize(image, 0, self._size)
    if hasattr(self, 'image_shape') and image.shape != self.image_shape:
      raise DataError(
          f'{path} is {image.shape[1]}x{image.shape[0]}, but {self._files[0]} is '
          f'{self.image_shape[1]}x{self.image_shape[0]}; set --config.data.image_size=N to '
          'bring every image to N x N (central square, resized).')
    return image

  def read_rows(self, indices):
    images = np.stack([self._decode(int(i)) for i in indices])
    return images, self._labels[np.asarray(indices, np.int64)]
