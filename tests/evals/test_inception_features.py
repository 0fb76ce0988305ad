"""The FID protocol around the Inception network, on random weights (the real ones cannot
be downloaded here): samples quantised to uint8, grayscale as RGB, batches that do not
change the statistics, clean-fid's resize as an option, too few samples refused, and
reference statistics that load only when they are of the same features."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from genjax.config import ConfigError
from genjax.evals import fid_statistics, inception_features
from genjax.models.inception import InceptionV3

pytestmark = pytest.mark.slow  # the network compiles for each input shape


@pytest.fixture(scope='module')
def variables():
  return jax.jit(InceptionV3().init)(jax.random.PRNGKey(0), jnp.zeros((1, 8, 8, 3)))


def _images(n, channels=3, seed=0):
  return np.random.default_rng(seed).uniform(size=(n, 8, 8, channels)).astype(np.float32)


def test_samples_are_quantised_and_grayscale_is_rgb(variables):
  features = inception_features.InceptionFeatures(variables, batch_size=4)
  x = _images(4)
  quantised = inception_features.quantize(x).astype(np.float32) / 255
  np.testing.assert_array_equal(features(x)[0], features(quantised)[0])
  gray = _images(4, channels=1)
  np.testing.assert_array_equal(features(gray)[0], features(np.repeat(gray, 3, -1))[0])
  pool3, logits = features(x)
  assert pool3.shape == (4, 2048) and logits.shape == (4, 1008) and pool3.dtype == np.float64


def test_the_statistics_do_not_depend_on_the_batches(variables):
  # Batches of 4 throughout: each input shape is one more compile of the network.
  x = _images(8, seed=1)
  by_four = inception_features.InceptionFeatures(variables, batch_size=4)
  stats, logits = by_four.statistics([x[:4], x[4:]], 'eight images')
  whole = by_four(x)[0]
  assert stats.num_samples == 8 and logits.shape == (8, 1008)
  np.testing.assert_allclose(stats.mu, whole.mean(0), rtol=1e-9, atol=1e-12)
  np.testing.assert_allclose(stats.sigma, np.cov(whole, rowvar=False), rtol=1e-7, atol=1e-12)


def test_clean_fids_resize_is_an_option_and_is_named(variables):
  bicubic = inception_features.InceptionFeatures(variables, resize='pil_bicubic',
                                                 batch_size=4)
  bilinear = inception_features.InceptionFeatures(variables, batch_size=4)
  x = _images(4, seed=2)
  assert not np.allclose(bicubic(x)[0], bilinear(x)[0])
  stats, _ = bicubic.statistics([x], 'four')
  assert stats.resize == 'pil_bicubic' and 'pil_bicubic' in stats.describe()
  assert stats.describe() == 'four (4 images, pil_bicubic)'
  with pytest.raises(ConfigError, match="bilinear is pytorch-fid's"):
    inception_features.InceptionFeatures(variables, resize='lanczos')


def test_fewer_samples_than_feature_dimensions_are_refused():
  with pytest.raises(ConfigError, match='fewer than 2048 samples is singular.*50,000'):
    inception_features.check_sample_count(1000, '--num_samples')
  inception_features.check_sample_count(2048)


def test_reference_statistics_load_only_of_the_same_features(tmp_path):
  rng = np.random.default_rng(0)
  mu, a = rng.normal(size=2048), rng.normal(size=(2048, 8))
  stats = fid_statistics.FidStatistics(mu=mu, sigma=a @ a.T, num_samples=50000,
                                       source='cifar10 train', resize='bilinear')
  stats.save(str(tmp_path / 'ours.npz'))
  back = fid_statistics.load(str(tmp_path / 'ours.npz'), resize='bilinear')
  np.testing.assert_array_equal(back.mu, mu)
  assert back.describe() == 'cifar10 train (50,000 images, bilinear)'
  np.savez(tmp_path / 'pytorch_fid.npz', mu=mu, sigma=a @ a.T)  # a published file
  assert fid_statistics.load(str(tmp_path / 'pytorch_fid.npz')).num_samples == 0
  with pytest.raises(fid_statistics.StatisticsError, match="'bilinear' resize, these scores"):
    fid_statistics.load(str(tmp_path / 'ours.npz'), resize='pil_bicubic')
  np.savez(tmp_path / 'classifier.npz', mu=mu[:64], sigma=np.eye(64))
  with pytest.raises(fid_statistics.StatisticsError, match='64-d features'):
    fid_statistics.load(str(tmp_path / 'classifier.npz'))
  other = fid_statistics.FidStatistics(mu=mu, sigma=a @ a.T, extractor='clip')
  other.save(str(tmp_path / 'clip.npz'))
  with pytest.raises(fid_statistics.StatisticsError, match="'clip' features"):
    fid_statistics.load(str(tmp_path / 'clip.npz'))
  with pytest.raises(fid_statistics.StatisticsError, match='experiments.fid_stats'):
    fid_statistics.load(str(tmp_path / 'none.npz'))
