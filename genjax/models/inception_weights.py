"""pytorch-fid's Inception weights as the Flax variables of genjax.models.inception.

pytorch-fid publishes the TensorFlow 2015-12-05 Inception graph's weights as a PyTorch state
dict (`FID_WEIGHTS_URL`). Nothing here downloads: the file is fetched by hand once and
converted by

  python -m genjax.models.inception_weights --pth=pt_inception-2015-12-05-6726825d.pth \\
      --out=~/.cache/genjax/inception_fid.npz

which writes one plain `.npz` ('params/Mixed_5b/branch1x1/conv/kernel', ...,
'batch_stats/.../bn/mean') and `<out>.sha256` beside it (sha256sum's format). `load`
checks the npz against that checksum and against the network's shapes, and refuses a
missing, corrupt or foreign file with an `InceptionWeightsError` saying how to get it.

The conversion is a renaming and a transposition: torch's `X.conv.weight` [O, I, kh, kw]
is `params/X/conv/kernel` [kh, kw, I, O]; `X.bn.weight`/`bias` are `params/X/bn/scale`/
`bias`; `X.bn.running_mean`/`running_var` are `batch_stats/X/bn/mean`/`var`;
`fc.weight` [1008, 2048] is `params/fc/kernel` transposed. Only the command imports torch
(an optional extra, `fid-check`); `convert_state_dict` takes numpy arrays.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import sys
import tempfile
from typing import Any, Mapping

import numpy as np

from genjax.errors import UserError

FID_WEIGHTS_URL = ('https://github.com/mseitzer/pytorch-fid/releases/download/fid_weights/'
                   'pt_inception-2015-12-05-6726825d.pth')
PTH_NAME = 'pt_inception-2015-12-05-6726825d.pth'
# torch.hub's convention: the hex in a weights file's name starts its SHA-256.
PTH_SHA256_PREFIX = '6726825d'
DEFAULT_PATH = '~/.cache/genjax/inception_fid.npz'

Variables = dict[str, Any]


class InceptionWeightsError(UserError):
  """The converted Inception weights are missing, corrupt or not pytorch-fid's."""


def how_to_get(path: str = DEFAULT_PATH) -> str:
  return (f'download {FID_WEIGHTS_URL} and run `python -m genjax.models.inception_weights '
          f'--pth={PTH_NAME} --out={path}`')


def _refuse(path: str, problem: str) -> InceptionWeightsError:
  return InceptionWeightsError(f'Inception weights {path}: {problem}; {how_to_get(path)}.')


def _set(tree: dict, path: tuple[str, ...], value: np.ndarray) -> None:
  for key in path[:-1]:
    tree = tree.setdefault(key, {})
  if path[-1] in tree:
    raise ValueError(f'{"/".join(path)} given twice')
  tree[path[-1]] = value


def convert_state_dict(state_dict: Mapping[str, Any]) -> Variables:
  """pytorch-fid's `fid_inception_v3()` state dict ({name: numpy array}, or anything
  `np.asarray` takes) -> {'params': ..., 'batch_stats': ...} for `InceptionV3().apply`.

  Raises ValueError for a key that is not a conv, BatchNorm or `fc` entry."""
  variables: Variables = {'params': {}, 'batch_stats': {}}
  for name, value in state_dict.items():
    value = np.asarray(value)
    *module, leaf = name.split('.')
    module = tuple(module)
    if leaf == 'num_batches_tracked':
      continue
    if module == ('fc',) and leaf in ('weight', 'bias'):
      flax_leaf, value = ('kernel', value.T) if leaf == 'weight' else ('bias', value)
      _set(variables['params'], ('fc', flax_leaf), np.ascontiguousarray(value, np.float32))
      continue
    if not module or module[-1] not in ('conv', 'bn'):
      raise ValueError(f'{name!r} is not a key of pytorch-fid\'s FID Inception state dict')
    if module[-1] == 'conv' and leaf == 'weight' and value.ndim == 4:
      collection, flax_leaf, value = 'params', 'kernel', value.transpose(2, 3, 1, 0)
    elif module[-1] == 'bn' and leaf in ('weight', 'bias', 'running_mean', 'running_var'):
      collection, flax_leaf = {'weight': ('params', 'scale'), 'bias': ('params', 'bias'),
                               'running_mean': ('batch_stats', 'mean'),
                               'running_var': ('batch_stats', 'var')}[leaf]
    else:
      raise ValueError(f'{name!r} (shape {value.shape}) is not a key of pytorch-fid\'s FID '
                       'Inception state dict')
    _set(variables[collection], module + (flax_leaf,),
         np.ascontiguousarray(value, dtype=np.float32))
  return variables


def flatten(variables: Variables) -> dict[str, np.ndarray]:
  """{'params': {'fc': {'bias': a}}} -> {'params/fc/bias': a} (the leaves as they are)."""
  flat = {}

  def walk(tree, prefix):
    for key, value in tree.items():
      if isinstance(value, Mapping):
        walk(value, prefix + (key,))
      else:
        flat['/'.join(prefix + (key,))] = value
  walk(variables, ())
  return flat


def unflatten(flat: Mapping[str, np.ndarray]) -> Variables:
  tree: Variables = {}
  for key, value in flat.items():
    _set(tree, tuple(key.split('/')), value)
  return tree


def expected_shapes() -> dict[str, tuple[int, ...]]:
  """Every variable of `InceptionV3` and its shape, flattened as in the npz (no compute)."""
  import jax
  import jax.numpy as jnp
  from genjax.models.inception import INPUT_SIZE, InceptionV3
  shapes = jax.eval_shape(InceptionV3().init, jax.random.PRNGKey(0),
                          jnp.zeros((1, INPUT_SIZE, INPUT_SIZE, 3), jnp.float32))
  return {k: tuple(v.shape) for k, v in flatten(dict(shapes)).items()}


def sha256_of(path: str) -> str:
  digest = hashlib.sha256()
  with open(path, 'rb') as f:
    for block in iter(lambda: f.read(1 << 20), b''):
      digest.update(block)
  return digest.hexdigest()


def checksum_path(path: str) -> str:
  return path + '.sha256'


def save(variables: Variables, path: str) -> str:
  """Writes the variables as one npz at `path` and its SHA-256 to `path`.sha256; returns the
  hex digest. Both are written to temporary names first and renamed into place."""
  path = os.path.expanduser(path)
  os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
  directory = os.path.dirname(os.path.abspath(path))
  with tempfile.NamedTemporaryFile(dir=directory, suffix='.npz', delete=False) as f:
    np.savez(f, **{k: np.asarray(v) for k, v in flatten(variables).items()})
    tmp = f.name
  digest = sha256_of(tmp)
  os.chmod(tmp, 0o644)  # NamedTemporaryFile's 0600 is not a cache file's mode.
  os.replace(tmp, path)
  with tempfile.NamedTemporaryFile('w', dir=directory, delete=False) as f:
    f.write(f'{digest}  {os.path.basename(path)}\n')
    tmp = f.name
  os.chmod(tmp, 0o644)
  os.replace(tmp, checksum_path(path))
  return digest


def load(path: str = DEFAULT_PATH, check_shapes: bool = True) -> Variables:
  """The variables saved by `save` at `path`, after checking the file against its
  `.sha256` and (check_shapes) every name and shape against the network's.

  Raises InceptionWeightsError (a UserError) if either file is missing, the checksum does
  not match, or the contents are not the network's variables."""
  path = os.path.expanduser(path)
  if not os.path.exists(path):
    raise _refuse(path, 'no such file')
  if not os.path.exists(checksum_path(path)):
    raise _refuse(path, f'no checksum file {checksum_path(path)} beside it')
  with open(checksum_path(path)) as f:
    fields = f.read().split()
  actual = sha256_of(path)
  if not fields or fields[0].lower() != actual:
    raise _refuse(path, f'SHA-256 {actual} does not match {checksum_path(path)} '
                  f'({fields[0] if fields else "empty"}): the file is corrupt or was changed')
  try:
    with np.load(path, allow_pickle=False) as npz:
      flat = {key: npz[key] for key in npz.files}
  except Exception as e:  # a zip or npy error: not a file `save` wrote.
    raise _refuse(path, f'not readable as an npz ({type(e).__name__}: {e})') from e
  if check_shapes:
    expected = expected_shapes()
    got = {k: tuple(v.shape) for k, v in flat.items()}
    if got != expected:
      missing = sorted(set(expected) - set(got))
      extra = sorted(set(got) - set(expected))
      wrong = sorted(k for k in set(got) & set(expected) if got[k] != expected[k])
      raise _refuse(path, f'not the FID Inception variables ({len(missing)} missing, e.g. '
                    f'{missing[:1]}; {len(extra)} unexpected, e.g. {extra[:1]}; '
                    f'{len(wrong)} of the wrong shape, e.g. {wrong[:1]})')
  return unflatten(flat)


def convert_pth(pth: str, out: str) -> str:
  """pytorch-fid's .pth -> the npz at `out` and its checksum; returns the digest. Imports
  torch (the `fid-check` extra)."""
  try:
    import torch
  except ImportError as e:
    raise UserError('Converting the .pth needs torch: pip install torch (or genjax[fid-check]).'
                    ) from e
  pth = os.path.expanduser(pth)
  if not os.path.exists(pth):
    raise InceptionWeightsError(f'{pth}: no such file; download {FID_WEIGHTS_URL} and pass '
                                'its path as --pth.')
  source_sha = sha256_of(pth)
  if not source_sha.startswith(PTH_SHA256_PREFIX):
    print(f'warning: {pth} has SHA-256 {source_sha}, which does not start with '
          f'{PTH_SHA256_PREFIX} as {PTH_NAME} should', file=sys.stderr)
  state_dict = torch.load(pth, map_location='cpu', weights_only=True)
  numpy_state = {k: v.detach().cpu().numpy() for k, v in state_dict.items()}
  try:
    variables = convert_state_dict(numpy_state)
  except ValueError as e:
    raise InceptionWeightsError(f'{pth}: not pytorch-fid\'s state dict ({e}); download '
                                f'{FID_WEIGHTS_URL}.') from e
  flat = {k: tuple(v.shape) for k, v in flatten(variables).items()}
  if flat != expected_shapes():
    raise InceptionWeightsError(f'{pth}: its names or shapes are not the FID Inception '
                                f'network\'s; download {FID_WEIGHTS_URL}.')
  return save(variables, out)


def main(argv: list[str] | None = None) -> None:
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument('--pth', required=True, help=f'pytorch-fid\'s {PTH_NAME}')
  parser.add_argument('--out', default=DEFAULT_PATH, help='the npz to write')
  args = parser.parse_args(argv)
  try:
    digest = convert_pth(args.pth, args.out)
  except UserError as e:
    print(f'error: {e}', file=sys.stderr)
    sys.exit(2)
  out = os.path.expanduser(args.out)
  print(f'wrote {out} (SHA-256 {digest}) and {checksum_path(out)}')


if __name__ == '__main__':
  main()
