"""Temperature and filtering of a sampler's logits: untouched at the defaults."""

import jax.numpy as jnp
import numpy as np
import pytest

from genjax.samplers.logit_filters import sampling_logits


def test_defaults_return_the_logits_themselves_and_temperature_divides():
  logits = jnp.asarray([[0.3, -1.2, 2.0]])
  assert sampling_logits(logits) is logits  # no division by 1: draws bit for bit
  np.testing.assert_allclose(sampling_logits(logits, temperature=0.5), logits / 0.5)
  kept = np.asarray(sampling_logits(logits, temperature=2.0, top_k=2)) > -1e30
  np.testing.assert_array_equal(kept, [[True, False, True]])
  with pytest.raises(ValueError, match='temperature=0 must be positive'):
    sampling_logits(logits, temperature=0)
