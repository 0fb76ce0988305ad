"""A run's data description reads back as the DataInfo its build needs without the data:
sizes, the character and word vocabularies, the map from features to pixels."""

import numpy as np

from genjax.data import info_file
from genjax.data.char_text import CharVocabulary, HeldOut
from genjax.data.family_data import DataInfo
from genjax.data.features import Features
from genjax.data.text import build_vocabulary


def test_sizes_and_vocabularies_read_back_and_the_data_does_not(tmp_path):
  words = build_vocabulary('the cat the dog the end'.split())
  projection = {'mean': np.arange(4, dtype=np.float32),
                'components': np.eye(2, 4, dtype=np.float32)}
  features = Features(train=np.ones((5, 2), np.float32), test=np.ones((3, 2), np.float32),
                      test_labels=np.zeros(3, np.int32), image_shape=(2, 2, 1),
                      projection=projection)
  info = DataInfo(num_train=5, num_classes=10, example_shape=(1, 6), vocab_size=4,
                  held_out=HeldOut(CharVocabulary('?abc'), np.ones((2, 6), np.int32)),
                  vocabulary=words, features=features)
  info_file.write(info, str(tmp_path))
  back = info_file.read(str(tmp_path))
  assert (back.num_train, back.num_classes, back.example_shape, back.vocab_size) == (
      5, 10, (1, 6), 4)
  assert back.test_images is None
  assert back.held_out.vocabulary.chars == '?abc' and back.held_out.windows.shape == (0, 6)
  assert back.vocabulary.words == words.words and back.vocabulary.index['the'] == 0
  np.testing.assert_array_equal(back.vocabulary.counts, words.counts)
  assert back.features.image_shape == (2, 2, 1) and len(back.features.train) == 0
  codes = np.array([[1.0, -1.0]], np.float32)
  np.testing.assert_allclose(back.features.to_images(codes), features.to_images(codes))


def test_an_image_run_needs_only_its_sizes(tmp_path):
  info_file.write(DataInfo(num_train=60000, num_classes=10, example_shape=(28, 28, 1)),
                  str(tmp_path))
  assert not (tmp_path / info_file.ARRAYS_NAME).exists()
  back = info_file.read(str(tmp_path))
  assert back == DataInfo(num_train=60000, num_classes=10, example_shape=(28, 28, 1))
