"""The feature classifier: shapes, features feed the head, cross-entropy is -log softmax."""

import chex
import jax
import jax.numpy as jnp
import numpy as np

from genjax.models.classifier import Classifier, cross_entropy


def test_logits_are_the_head_of_the_features_and_dropout_is_train_only():
  net = Classifier(num_classes=10, conv_channels=(4, 8), hidden=16, dropout=0.5)
  x = jax.random.uniform(jax.random.PRNGKey(0), (3, 8, 8, 1))

  shapes = jax.eval_shape(net.init, jax.random.PRNGKey(0), x)
  rng = np.random.default_rng(0)  # NumPy params: flax's jitted init compiles slowly
  params = jax.tree.map(lambda s: jnp.asarray(0.1 * rng.standard_normal(s.shape), s.dtype),
                        shapes)

  @jax.jit
  def run(params, key):
    feats = net.apply(params, x, method=Classifier.features)
    head = params['params']['head']
    return (feats, net.apply(params, x), feats @ head['kernel'] + head['bias'],
            net.apply(params, x, train=True, rngs={'dropout': key}))

  feats, logits, from_feats, train_logits = run(params, jax.random.PRNGKey(1))
  chex.assert_shape(feats, (3, 16))
  chex.assert_shape(logits, (3, 10))
  assert np.all(np.asarray(feats) >= 0)  # ReLU features
  np.testing.assert_allclose(logits, from_feats, rtol=1e-5, atol=1e-5)
  assert not np.allclose(logits, train_logits)
  assert params['params']['dense']['kernel'].shape == (2 * 2 * 8, 16)


def test_cross_entropy():
  logits = jnp.array([[2.0, 0.0, -1.0], [0.0, 0.0, 0.0]])
  labels = jnp.array([0, 2])
  expected = [-(2.0 - np.log(np.exp(2.0) + 1 + np.exp(-1.0))), np.log(3.0)]
  np.testing.assert_allclose(cross_entropy(logits, labels), expected, rtol=1e-6)
