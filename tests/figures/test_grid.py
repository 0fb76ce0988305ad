"""Tiling images for figures: gray images as before, colour images with their channels."""

import numpy as np

from genjax.figures.grid import tile


def test_gray_images_tile_into_one_plane_with_white_padding():
  images = np.random.default_rng(0).uniform(size=(5, 4, 3, 1)).astype(np.float32)
  out = tile(images, 3)
  assert out.shape == (2 * 5 - 1, 3 * 4 - 1)
  np.testing.assert_array_equal(out[:4, :3], images[0, ..., 0])
  np.testing.assert_array_equal(out[5:9, 4:7], images[4, ..., 0])
  assert out[4].min() == 1.0 and out[:, 3].min() == 1.0
  np.testing.assert_array_equal(tile(images[..., 0], 3), out)  # [N, H, W] alike


def test_colour_images_keep_their_three_channels():
  images = np.random.default_rng(1).uniform(size=(5, 4, 3, 3)).astype(np.float32)
  out = tile(images, 3)
  assert out.shape == (2 * 5 - 1, 3 * 4 - 1, 3)
  np.testing.assert_array_equal(out[5:9, 4:7], images[4])
  assert out[4].min() == 1.0
