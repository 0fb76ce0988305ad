"""The default image data: a validation hold-out never enters the training stream."""

import numpy as np
import pytest

from configs import gan as gan_config
from genjax.config import ConfigError
from genjax.data.image_data import hold_out, image_data, load_splits
from tests.families.run_config import unlocked


def test_the_held_out_images_are_the_validation_split_and_never_trained_on():
  config = unlocked(gan_config, 'smoke')  # digits, 64 of 1,500 training images held out
  data = image_data(config)
  train, _ = load_splits(config.data)
  n = config.data.validation_examples
  assert data.train.num_examples == len(train.images) - n
  batches = list(data.splits['validation'](100, 0, 1, 0))
  held = np.concatenate([b['image'][b['mask'] > 0] for b in batches])
  np.testing.assert_array_equal(held, train.images[-n:].astype(np.float32) / 255.0)
  # 100 batches of 32 cover the 1,436 training rows twice over: each is a kept row.
  kept = {x.tobytes() for x in train.images[:-n].astype(np.float32) / 255.0}
  seen = np.concatenate([data.train.batch(s)['image'] for s in range(100)])
  assert {x.tobytes() for x in seen} <= kept


def test_a_hold_out_larger_than_the_training_set_names_the_remedy():
  train, _ = load_splits(unlocked(gan_config, 'smoke').data)
  with pytest.raises(ConfigError, match='--config.data.validation_examples'):
    hold_out(train, len(train.images))
