"""The labels a conditional sampler draws, and the one-line refusals of labels and guidance
the model cannot take."""

import numpy as np
import pytest

from genjax.errors import OptionError
from genjax.samplers.labels import sample_labels


def test_one_label_or_one_per_sample_and_none_without_a_label():
  np.testing.assert_array_equal(sample_labels(3, 4, 10), [3, 3, 3, 3])
  np.testing.assert_array_equal(sample_labels([0, 9, 2], 3, 10), [0, 9, 2])
  assert sample_labels(3, 4, 10).dtype == np.int32
  assert sample_labels(None, 4, 10) is None
  assert sample_labels(None, 4, 10, guidance=1.0, unguided=1.0) is None  # DDPM's w = 1


@pytest.mark.parametrize('label,classes,guidance,unguided,message', [
    (0, 0, None, 0.0, 'this model is unconditional'),
    (10, 10, None, 0.0, r"classes are 0\.\.9"),
    ([-1, 2], 10, None, 0.0, r"classes are 0\.\.9"),
    (None, 10, 2.0, 0.0, 'guidance=2.0 scales towards a class: give label too'),
    (None, 10, 0.0, 1.0, 'guidance=0.0 scales towards a class'),
])
def test_refusals_name_the_option(label, classes, guidance, unguided, message):
  with pytest.raises(OptionError, match=message):
    sample_labels(label, 2, classes, guidance=guidance, unguided=unguided)
