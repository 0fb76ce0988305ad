"""Every bad input a user can give, in one table: each gets one line that names the remedy,
exit status 2, and leaves the workdir that already held a finished run untouched.

Each row of CASES runs the command as a user would (`python -m experiments.<main> ...`)
against a copy of a finished VAE smoke run. The rows of FIELD_CASES are refused while absl
parses the flags, before a main runs: they call that parser in process, as every main does,
which takes milliseconds instead of a process's start. `python -m tests.test_bad_inputs`
prints the same table with the messages (results/reliability/bad_inputs.md).
"""

import glob
import hashlib
import importlib
import json
import os
import shutil
import subprocess
import sys

import pytest
from absl.testing import flagsaver

from tests import xla_flags

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
VAE = ['experiments.vae', '--config=configs/vae.py:smoke']

# (case, module and flags with {W} for the finished run's workdir and {T} for a scratch
# folder, a fragment of the one-line message)
CASES = [
    ('mistyped field', VAE + ['--workdir={W}', '--config.modle.latent_dim=3'],
     "Unknown config field 'modle'. Did you mean \"model\""),
    ('wrong type', VAE + ['--workdir={W}', '--config.model.latent_dim=two'],
     "invalid literal for int() with base 10: 'two'"),
    ('unknown variant', ['experiments.vae', '--config=configs/vae.py:tiny', '--workdir={W}'],
     "Unknown config variant 'tiny'; choose from"),
    ('unknown dataset', VAE + ['--workdir={W}', '--config.data.name=cifar11'],
     "Unknown dataset 'cifar11'"),
    ('negative batch', VAE + ['--workdir={W}', '--config.batch_size=-32'], 'batch_size=-32'),
    ('zero batch', VAE + ['--workdir={W}', '--config.batch_size=0'], 'batch_size=0'),
    ('zero latent', VAE + ['--workdir={W}', '--config.model.latent_dim=0'], 'latent_dim=0'),
    ('negative latent', VAE + ['--workdir={W}', '--config.model.latent_dim=-3'],
     'latent_dim=-3'),
    ('negative duration', VAE + ['--workdir={W}', '--config.total_steps=-5'], 'total_steps=-5'),
    ('negative seed', VAE + ['--workdir={W}', '--config.seed=-1'],
     'seed=-1 must be a non-negative integer; set --config.seed=0'),
    ('batch over devices', VAE + ['--workdir={W}', '--config.batch_size=33'],
     'batch_size=33 does not divide over the 2 devices'),
    ('another model', VAE + ['--workdir={W}', '--config.model.latent_dim=5'],
     'different model (model.latent_dim: 20 in the checkpoint, 5 in this run)'),
    ("another family's config", ['experiments.vae', '--config=configs/diffusion.py:smoke',
                                 '--workdir={W}'],
     "'diffusion' config, but this main trains the 'vae' family"),
    ("another family's run", ['experiments.classifier', '--config=configs/classifier.py:smoke',
                              '--workdir={W}'], "holds a 'vae' run"),
    ('workdir is a file', VAE + ['--workdir={W}/config.json'], 'is a file, not a directory'),
    ('empty idx_dir', VAE + ['--workdir={W}', '--config.data.name=mnist',
                             '--config.data.idx_dir={T}'], '{T}'),
    ('a source its dataset does not read', VAE + ['--workdir={W}',
                                                  '--config.data.idx_dir=/nonexistent'],
     "data.idx_dir='/nonexistent' is given, but data.name='digits' does not read from it"),
    ('wrong image size', VAE + ['--workdir={W}', '--config.data.image_size=32'],
     'data.image_size=32, but digits images are 8x8'),
    ('grayscale set for a colour variant',
     ['experiments.vae', '--config=configs/vae.py:cifar10_smoke', '--workdir={T}/vae',
      '--config.data.name=digits'], 'This config is for colour images (data.channels=3)'),
    ('empty image folder', VAE + ['--workdir={T}/vae', '--config.data.name=image_folder',
                                  '--config.data.image_dir={T}'], '{T}/train holds no class'),
    ('unreadable image file', VAE + ['--workdir={T}/vae', '--config.data.name=image_folder',
                                     '--config.data.image_dir=tests/data/unreadable_images'],
     'broken.png cannot be read as an image'),
    ('missing classifier', ['experiments.diffusion', '--config=configs/diffusion.py:smoke',
                            '--workdir={T}/ddpm', '--config.eval.classifier={T}/none',
                            '--config.eval.frechet_samples=8'],
     'Train it first with python -m experiments.classifier'),
    ('non-finite training', VAE + ['--workdir={W}', '--config.total_steps=12',
                                   '--config.optimizer.learning_rate=1e39'],
     'its last checkpoint, step 8'),
    ('positional argument', VAE + ['--workdir={W}', 'extra'], "Unexpected arguments: ['extra']"),
    ('unknown flag', VAE + ['--workdir={W}', '--workdr=x'], "Unknown command line flag 'workdr'"),
    ('missing workdir', VAE, '--workdir is required'),
    ('bound of a vae run', ['experiments.diffusion_bound', '--workdir={W}'],
     "holds a 'vae' run, not a diffusion run"),
    ('sample from an unfinished run', ['genjax.sample', '--workdir={U}', '--out={T}/s.png'],
     'its latest is step 8, before the end of training. Finish the run by running its '
     'training command again with --workdir={U}, or use this checkpoint with '
     '--allow_unfinished'),
    ('sample from no run', ['genjax.sample', '--workdir={T}', '--out={T}/s.png'],
     '{T} holds no genjax run (no config.json); train one with python -m '
     'experiments.<family>'),
    ('a label for an unconditional model', ['genjax.sample', '--workdir={W}', '--label=3',
                                            '--out={T}/s.png'],
     "A vae model's sample takes no label; it takes no options."),
    ('a temperature for a model without one', ['genjax.sample', '--workdir={W}',
                                                '--temperature=0.7', '--out={T}/s.png'],
     "A vae model's sample takes no temperature; it takes no options."),
    ("a bound's option of another family", ['genjax.score', '--workdir={W}', '--timesteps=4',
                                            '--out={T}/s.json'],
     "A vae model's score takes no timesteps; it takes k."),
    ('an export with a file missing', ['genjax.sample', '--workdir={X}', '--out={T}/s.png'],
     '{X}/params.safetensors is missing'),
    ('FID from too few samples', ['experiments.fid', '--workdir={W}', '--reference={T}/r.npz',
                                  '--num_samples=1000'],
     '--num_samples=1000: the covariance of 2048-d Inception features from fewer than 2048 '
     'samples is singular, and the FID meaningless; use 50,000'),
    ('missing Inception weights', ['experiments.fid', '--workdir={W}', '--reference={T}/r.npz',
                                   '--weights={T}/none.npz'],
     'Inception weights {T}/none.npz: no such file; download https://github.com/mseitzer/'
     'pytorch-fid/releases/download/fid_weights/pt_inception-2015-12-05-6726825d.pth'),
    ('an export with mismatched files', ['genjax.score', '--workdir={M}', '--out={T}/s.json'],
     "names family 'gan' but config.json is a 'vae' config"),
]


def _misspelt_model_fields():
  """One row per configs/<name>.py with a family: its first `model` field, misspelt."""
  rows = []
  for path in sorted(glob.glob(os.path.join(REPO, 'configs', '*.py'))):
    name = os.path.basename(path)[:-3]
    if name.startswith('_') or name == 'variants':
      continue
    config = importlib.import_module(f'configs.{name}').get_config()
    if 'family' not in config:
      continue  # a sweep or a table of other configs' runs
    field = sorted(config.model)[0]
    typo = field + field[-1]
    assert typo not in config.model, (name, typo)
    rows.append((f'mistyped {name} model field',
                 [f'experiments.{name}', f'--config=configs/{name}.py', '--workdir={T}',
                  f'--config.model.{typo}=1'],
                 f"Unknown config field 'model.{typo}'. Did you mean \"model.{field}\"?"))
  return rows


# (case, module and flags as in CASES, a fragment of the one line)
FIELD_CASES = [
    ('mistyped nested field', ['experiments.gmm', '--config=configs/gmm.py:smoke',
                               '--workdir={T}', '--config.model.num_components=0'],
     "Unknown config field 'model.num_components'. Did you mean \"model.components\"?"),
    ('nested field of another section', ['experiments.word2vec',
                                         '--config=configs/word2vec.py:smoke', '--workdir={T}',
                                         '--config.model.negatives=-1'],
     "Unknown config field 'model.negatives'. Did you mean \"objective.num_negatives\"?"),
] + _misspelt_model_fields()


def _tree_digest(path: str) -> str:
  """Names and bytes of every file under path (or of the file), the lock file aside."""
  h = hashlib.sha256()
  if os.path.isfile(path):
    h.update(open(path, 'rb').read())
    return h.hexdigest()
  for root, dirs, files in sorted(os.walk(path)):
    dirs.sort()
    for name in sorted(files):
      if name == '.lock':
        continue
      full = os.path.join(root, name)
      h.update(os.path.relpath(full, path).encode())
      h.update(open(full, 'rb').read())
  return h.hexdigest()


def _finished_run(parent) -> str:
  workdir = os.path.join(parent, 'vae')
  result = subprocess.run([sys.executable, '-m', *VAE, f'--workdir={workdir}'], cwd=REPO,
                          capture_output=True, text=True, timeout=600)
  assert result.returncode == 0, result.stderr[-3000:]
  return workdir


def _damaged_copies(finished, parent, argv) -> dict[str, str]:
  """The runs a case names besides {W}: {U} the run before its end (no final metrics),
  {X} its export without the weights file, {M} its export with another family's record."""
  from genjax.trained import export  # pylint: disable=g-import-not-at-top
  paths = {}
  if any('{U}' in a for a in argv):
    paths['{U}'] = os.path.join(parent, 'unfinished')
    shutil.copytree(finished, paths['{U}'])
    os.remove(os.path.join(paths['{U}'], 'final_metrics.json'))
  if any('{X}' in a for a in argv):
    paths['{X}'] = os.path.join(parent, 'export')
    export(finished, paths['{X}'])
    os.remove(os.path.join(paths['{X}'], 'params.safetensors'))
  if any('{M}' in a for a in argv):
    paths['{M}'] = os.path.join(parent, 'mismatched')
    export(finished, paths['{M}'])
    record_path = os.path.join(paths['{M}'], 'model.json')
    record = json.load(open(record_path))
    json.dump({**record, 'family': 'gan'}, open(record_path, 'w'))
  return paths


def _try(argv, finished, scratch_parent):
  """Runs one case on a copy of the finished run: (exit status, stderr, placeholders,
  whether the workdir is unchanged)."""
  workdir = os.path.join(scratch_parent, 'run')
  shutil.copytree(finished, workdir)
  scratch = os.path.join(scratch_parent, 'scratch')
  os.makedirs(scratch)
  others = _damaged_copies(finished, scratch_parent, argv)

  def fill(s):
    s = s.replace('{W}', workdir).replace('{T}', scratch)
    for key, path in others.items():
      s = s.replace(key, path)
    return s

  before = _tree_digest(workdir)
  env = {**os.environ, 'XLA_FLAGS': xla_flags.flags(devices=2)}
  result = subprocess.run([sys.executable, '-m', *map(fill, argv)], cwd=REPO,
                          capture_output=True, text=True, timeout=600, env=env)
  return result.returncode, result.stderr, fill, _tree_digest(workdir) == before


@pytest.fixture(scope='module')
def finished_run():
  """The session's VAE smoke run, `_finished_run`'s command (tests/smoke_runs.py): each
  case works on a copy."""
  # Imported here: `python -m tests.test_bad_inputs` runs outside a test session.
  from tests.smoke_runs import trained  # pylint: disable=g-import-not-at-top
  return str(trained('vae').workdir)


@pytest.mark.slow
@pytest.mark.parametrize('case,argv,message', CASES, ids=[c[0] for c in CASES])
def test_a_bad_input_gets_one_line_exit_2_and_loses_nothing(case, argv, message,
                                                           finished_run, tmp_path):
  del case
  status, stderr, fill, untouched = _try(argv, finished_run, str(tmp_path))
  lines = stderr.strip().splitlines()
  assert status == 2, stderr[-3000:]
  assert lines and lines[-1].startswith('error: '), stderr[-3000:]
  assert fill(message) in lines[-1], lines[-1]
  assert 'Traceback' not in stderr
  assert untouched


# config_flags loads the config file with a deprecated importlib call.
@pytest.mark.filterwarnings('ignore:the load_module:DeprecationWarning')
@pytest.mark.parametrize('case,argv,message', FIELD_CASES, ids=[c[0] for c in FIELD_CASES])
def test_an_unknown_config_field_gets_one_line_with_its_dotted_name_and_the_closest_one(
    case, argv, message, tmp_path, monkeypatch, capsys):
  del case
  from genjax import cli_errors  # pylint: disable=g-import-not-at-top
  from genjax import launch  # pylint: disable=g-import-not-at-top,unused-import  (--config)
  argv = [a.replace('{T}', str(tmp_path)) for a in argv]
  argv = [f'{argv[0].replace(".", "/")}.py', *argv[1:]]  # as sys.argv holds it under -m
  monkeypatch.setattr(sys, 'argv', argv)  # config_flags reads the overrides from it
  monkeypatch.delenv('GENJAX_DEBUG', raising=False)
  with flagsaver.flagsaver(), pytest.raises(SystemExit) as e:
    cli_errors.parse_flags(argv)
  stderr = capsys.readouterr().err
  lines = stderr.strip().splitlines()
  assert e.value.code == 2, stderr
  assert len(lines) == 1 and lines[0].startswith('error: '), stderr
  assert message in lines[0], lines[0]
  assert 'Traceback' not in stderr
  assert not os.listdir(tmp_path)  # nothing written


def test_the_closest_field_is_looked_for_beside_the_typo_then_anywhere():
  import ml_collections  # pylint: disable=g-import-not-at-top
  from genjax import cli_errors  # pylint: disable=g-import-not-at-top
  c = ml_collections.ConfigDict({'seed': 0, 'model': {'dim': 8},
                                 'objective': {'num_negatives': 5}})
  assert cli_errors.unknown_override(c, ['seed', 'model.dim']) is None
  assert cli_errors.unknown_override(c, ['seed', 'model.dimm']) == (
      'model.dimm', 'model.dim', ['dim'])
  assert cli_errors.unknown_override(c, ['model.negatives']) == (
      'model.negatives', 'objective.num_negatives', ['dim'])
  assert cli_errors.unknown_override(c, ['modle.dim'])[:2] == ('modle', 'model')
  assert cli_errors.unknown_override(c, ['model.xyz'])[:2] == ('model.xyz', None)
  # Without the config (it failed to load again), ml_collections' message in one line.
  fallback = cli_errors._unknown_field_fallback  # pylint: disable=protected-access
  assert fallback(AttributeError(KeyError("'negatives'"))) == "Unknown config field 'negatives'."


def markdown_table() -> str:
  """The table of results/reliability/bad_inputs.md: every case run as the test runs it, with its message."""
  import tempfile  # pylint: disable=g-import-not-at-top
  rows = ['| input | command (W: a finished smoke run, T: an empty folder; U: W before its '
          'end, X: its export without weights, M: its export with another family\'s record) '
          '| the one line '
          '| exit | workdir unchanged |', '|---|---|---|---|---|']
  with tempfile.TemporaryDirectory() as tmp:
    finished = _finished_run(tmp)
    for i, (case, argv, _) in enumerate(CASES + FIELD_CASES):
      status, stderr, fill, untouched = _try(argv, finished, os.path.join(tmp, str(i)))
      line = stderr.strip().splitlines()[-1]
      for name in 'WTUXM':
        if fill('{' + name + '}') != '{' + name + '}':
          line = line.replace(fill('{' + name + '}'), name)
      command = ' '.join(['python -m', *argv])
      for name in 'WTUXM':
        command = command.replace('{' + name + '}', name)
      rows.append(f'| {case} | `{command}` | {line.replace("|", chr(92) + "|")} | {status} | '
                  f'{"yes" if untouched else "NO"} |')
  return '\n'.join(rows)


if __name__ == '__main__':
  print(markdown_table())
