"""genjax.models.inception is pytorch-fid's FID Inception network, and its weights file is
converted, checksummed and refused as genjax.models.inception_weights says.

Without torch: the network's shapes and purity, the converter on a torch-named copy of the
Flax variables, the checksum refusal. With pytorch-fid installed (the `fid-check` extra):
the resize is torch's, and pytorch-fid's own `InceptionV3([3])` with random weights and
random BatchNorm statistics (no download) computes the same pool3 and logits as the Flax
network given the converted state dict, for inputs upsampled, downsampled and already
299x299.
"""

from __future__ import annotations

import os
import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from genjax.errors import UserError
from genjax.models import inception, inception_weights

# pool3 and the logits agree to this fraction of their largest magnitude (float32; the
# torch and XLA convolutions sum in different orders through ~100 layers).
RTOL = 1e-4


def _images(seed: int, batch: int, h: int, w: int) -> np.ndarray:
  return np.random.default_rng(seed).random((batch, h, w, 3), dtype=np.float32)


@pytest.fixture(scope='module')
def network():
  model = inception.InceptionV3()
  variables = jax.jit(model.init)(jax.random.PRNGKey(0), jnp.zeros((1, 32, 32, 3)))
  return model, variables


def test_shapes_and_a_pure_function_of_the_variables(network):
  model, variables = network
  assert set(variables) == {'params', 'batch_stats'}
  apply = jax.jit(model.apply)
  images = _images(0, 2, 32, 32)
  first, second = apply(variables, images), apply(variables, images)
  assert {k: v.shape for k, v in first.items()} == {
      'pool3': (2, 2048), 'logits': (2, 1008), 'logits_unbiased': (2, 1008)}
  for key in first:
    np.testing.assert_array_equal(np.asarray(first[key]), np.asarray(second[key]))
  # Inference BatchNorm: no batch statistics are touched or needed.
  _, state = jax.jit(lambda v, x: model.apply(v, x, mutable=['batch_stats']))(variables,
                                                                                images)
  assert jax.tree.all(jax.tree.map(lambda a, b: bool(jnp.array_equal(a, b)),
                                   dict(state)['batch_stats'], variables['batch_stats']))
  fc = variables['params']['fc']
  np.testing.assert_allclose(first['logits'], first['logits_unbiased'] + fc['bias'],
                             rtol=1e-5, atol=1e-6)
  flat = {k: tuple(v.shape) for k, v in inception_weights.flatten(variables).items()}
  assert flat == inception_weights.expected_shapes()
  with pytest.raises(ValueError, match='RGB'):
    model.apply(variables, images[..., :1])


def _torch_named(variables) -> dict[str, np.ndarray]:
  """The Flax variables under torch's names and layouts (the converter's inverse)."""
  out = {}
  for key, value in inception_weights.flatten(variables).items():
    collection, *path, leaf = key.split('/')
    if path == ['fc']:
      out[f'fc.{"weight" if leaf == "kernel" else "bias"}'] = (
          value.T if leaf == 'kernel' else value)
      continue
    name = {'kernel': 'weight', 'scale': 'weight', 'bias': 'bias', 'mean': 'running_mean',
            'var': 'running_var'}[leaf]
    out['.'.join(path + [name])] = value.transpose(3, 2, 0, 1) if leaf == 'kernel' else value
    if leaf == 'mean':
      out['.'.join(path + ['num_batches_tracked'])] = np.array(0)
  return out


def test_converter_inverts_torch_names(network):
  _, variables = network
  converted = inception_weights.convert_state_dict(_torch_named(variables))
  jax.tree.map(np.testing.assert_array_equal, converted, jax.tree.map(np.asarray, variables))
  with pytest.raises(ValueError, match='AuxLogits'):
    inception_weights.convert_state_dict({'AuxLogits.fc.weight': np.zeros((1008, 768))})


def test_save_load_and_the_checksum_refusal(tmp_path):
  fake = {'params': {'fc': {'bias': np.arange(3, dtype=np.float32)}}}
  path = str(tmp_path / 'inception_fid.npz')
  digest = inception_weights.save(fake, path)
  with open(path + '.sha256') as f:
    assert f.read().split() == [digest, 'inception_fid.npz']
  loaded = inception_weights.load(path, check_shapes=False)
  np.testing.assert_array_equal(loaded['params']['fc']['bias'], fake['params']['fc']['bias'])
  # A file of the right checksum but not the network's variables.
  with pytest.raises(inception_weights.InceptionWeightsError, match='not the FID Inception'):
    inception_weights.load(path)

  with open(path, 'r+b') as f:  # one byte changed
    f.seek(os.path.getsize(path) // 2)
    byte = f.read(1)
    f.seek(-1, os.SEEK_CUR)
    f.write(bytes([byte[0] ^ 0xFF]))
  with pytest.raises(UserError) as info:
    inception_weights.load(path, check_shapes=False)
  message = str(info.value)
  assert isinstance(info.value, inception_weights.InceptionWeightsError)
  assert 'does not match' in message and '\n' not in message
  assert inception_weights.FID_WEIGHTS_URL in message
  assert 'python -m genjax.models.inception_weights --pth=' in message

  for missing in (str(tmp_path / 'absent.npz'), path):
    if missing == path:
      os.remove(path + '.sha256')
    with pytest.raises(inception_weights.InceptionWeightsError,
                       match='pytorch-fid/releases/download/fid_weights'):
      inception_weights.load(missing)


@pytest.mark.parametrize('size', [(32, 32), (320, 320), (299, 299), (17, 450)])
def test_resize_is_torch_bilinear(size):
  torch = pytest.importorskip('torch')
  images = _images(1, 2, *size)
  want = torch.nn.functional.interpolate(
      torch.from_numpy(images).permute(0, 3, 1, 2), size=(299, 299), mode='bilinear',
      align_corners=False).permute(0, 2, 3, 1).numpy()
  got = np.asarray(inception.resize_input(jnp.asarray(images)))
  np.testing.assert_allclose(got, want, rtol=0, atol=1e-6)


# Keeps the stub schemas of `_pytorch_fid` alive (a dropped torch Library undefines them).
_TORCHVISION_STUBS = []


def _pytorch_fid():
  """(torch, pytorch_fid.inception), or a skip where they are not installed."""
  torch = pytest.importorskip('torch')
  try:
    import pytorch_fid.inception as fid
  except ImportError:
    pytest.skip('pytorch-fid or torchvision is not installed (the fid-check extra)')
  except RuntimeError as e:
    if 'torchvision::nms' not in str(e):
      raise
    # PyPI's torchvision for Linux is a CUDA build; beside a CPU-only torch its C ops
    # (detection's, none of Inception's) do not load, and its import then fails declaring
    # fake kernels for nms and qnms. Declare their schemas and import it again.
    for name in [m for m in sys.modules if m.split('.')[0] in ('torchvision', 'pytorch_fid')]:
      del sys.modules[name]
    if not _TORCHVISION_STUBS:
      lib = torch.library.Library('torchvision', 'FRAGMENT')
      for op in ('nms', 'qnms'):
        lib.define(f'{op}(Tensor dets, Tensor scores, float iou_threshold) -> Tensor')
      _TORCHVISION_STUBS.append(lib)
    import pytorch_fid.inception as fid
  return torch, fid


def _random_fid_state_dict(torch, fid, seed: int) -> dict:
  """A random state dict of `fid_inception_v3()`'s network, built as that function builds
  it. Convolutions are He-normal and BatchNorm's affine and running statistics are random
  near identity, so activations keep their scale through the depth and pool3 depends on
  the image (PyTorch's default init shrinks them ~1e4-fold, which would hide mismatches)."""
  import torchvision
  net = torchvision.models.inception_v3(num_classes=1008, aux_logits=False, weights=None,
                                        init_weights=False)
  net.Mixed_5b = fid.FIDInceptionA(192, pool_features=32)
  net.Mixed_5c = fid.FIDInceptionA(256, pool_features=64)
  net.Mixed_5d = fid.FIDInceptionA(288, pool_features=64)
  net.Mixed_6b = fid.FIDInceptionC(768, channels_7x7=128)
  net.Mixed_6c = fid.FIDInceptionC(768, channels_7x7=160)
  net.Mixed_6d = fid.FIDInceptionC(768, channels_7x7=160)
  net.Mixed_6e = fid.FIDInceptionC(768, channels_7x7=192)
  net.Mixed_7b = fid.FIDInceptionE_1(1280)
  net.Mixed_7c = fid.FIDInceptionE_2(2048)
  gen = torch.Generator().manual_seed(seed)
  state = {}
  for name, value in net.state_dict().items():
    shape = value.shape
    if name.endswith('conv.weight'):
      fan_in = shape[1] * shape[2] * shape[3]
      value = torch.randn(shape, generator=gen) * (2 / fan_in) ** 0.5
    elif name == 'fc.weight':
      value = torch.randn(shape, generator=gen) / shape[1] ** 0.5
    elif name.endswith(('bn.weight', 'bn.running_var')):
      value = 0.7 + 0.6 * torch.rand(shape, generator=gen)
    elif name.endswith(('bn.bias', 'bn.running_mean', 'fc.bias')):
      value = 0.2 * torch.randn(shape, generator=gen)
    state[name] = value
  return state


@pytest.mark.slow
def test_matches_pytorch_fid_network(monkeypatch, network):
  torch, fid = _pytorch_fid()
  state = _random_fid_state_dict(torch, fid, seed=0)
  # pytorch-fid's own constructor and forward; its weights download returns the random
  # state dict instead (loaded strictly: the keys are fid_inception_v3()'s).
  monkeypatch.setattr(fid, 'load_state_dict_from_url', lambda *a, **k: state)
  reference = fid.InceptionV3([3], resize_input=True, normalize_input=True,
                              use_fid_inception=True).eval()
  numpy_state = {k: v.numpy() for k, v in state.items()}
  variables = inception_weights.convert_state_dict(numpy_state)
  model, _ = network
  apply = jax.jit(model.apply)

  errors = {}
  for size in [(32, 32), (320, 320), (299, 299)]:
    for seed in (1, 2):
      images = _images(seed, 2, *size)
      with torch.no_grad():
        pool3 = reference(torch.from_numpy(images).permute(0, 3, 1, 2))[0].flatten(1)
        logits = torch.nn.functional.linear(pool3, state['fc.weight'], state['fc.bias'])
        unbiased = pool3 @ state['fc.weight'].T
      want = {'pool3': pool3.numpy(), 'logits': logits.numpy(),
              'logits_unbiased': unbiased.numpy()}
      got = apply(variables, images)
      for key, ref in want.items():
        scale = np.abs(ref).max()
        errors[size, seed, key] = float(np.abs(np.asarray(got[key]) - ref).max() / scale)
      # pool3 depends on the image (the comparison is not of a constant).
      spread = np.abs(want['pool3'][0] - want['pool3'][1]).max() / np.abs(want['pool3']).max()
      assert spread > 1e-2, spread
  worst = max(errors.values())
  assert worst < RTOL, {k: f'{v:.1e}' for k, v in errors.items()}
