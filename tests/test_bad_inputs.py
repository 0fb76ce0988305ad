"""Every bad input a user can give, in one table: each gets one line that names the remedy,
exit status 2, and leaves the workdir that already held a finished run untouched.

Each row runs the command as a user would (`python -m experiments.<main> ...`) against a
copy of a finished VAE smoke run. RESULTS.md lists the same table with the messages.
"""

import hashlib
import os
import shutil
import subprocess
import sys

import pytest

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
]


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


def _try(argv, finished, scratch_parent):
  """Runs one case on a copy of the finished run: (exit status, stderr, placeholders,
  whether the workdir is unchanged)."""
  workdir = os.path.join(scratch_parent, 'run')
  shutil.copytree(finished, workdir)
  scratch = os.path.join(scratch_parent, 'scratch')
  os.makedirs(scratch)
  fill = lambda s: s.replace('{W}', workdir).replace('{T}', scratch)
  before = _tree_digest(workdir)
  env = {**os.environ, 'XLA_FLAGS': '--xla_force_host_platform_device_count=2'}
  result = subprocess.run([sys.executable, '-m', *map(fill, argv)], cwd=REPO,
                          capture_output=True, text=True, timeout=600, env=env)
  return result.returncode, result.stderr, fill, _tree_digest(workdir) == before


@pytest.fixture(scope='module')
def finished_run(tmp_path_factory):
  return _finished_run(str(tmp_path_factory.mktemp('finished')))


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


def markdown_table() -> str:
  """The table of RESULTS.md: every case run as the test runs it, with its message."""
  import tempfile  # pylint: disable=g-import-not-at-top
  rows = ['| input | command (W: a finished smoke run, T: an empty folder) | the one line '
          '| exit | workdir unchanged |', '|---|---|---|---|---|']
  with tempfile.TemporaryDirectory() as tmp:
    finished = _finished_run(tmp)
    for i, (case, argv, _) in enumerate(CASES):
      status, stderr, fill, untouched = _try(argv, finished, os.path.join(tmp, str(i)))
      line = stderr.strip().splitlines()[-1]
      for path, name in ((fill('{W}'), 'W'), (fill('{T}'), 'T')):
        line = line.replace(path, name)
      command = ' '.join(['python -m', *argv]).replace('{W}', 'W').replace('{T}', 'T')
      rows.append(f'| {case} | `{command}` | {line.replace("|", chr(92) + "|")} | {status} | '
                  f'{"yes" if untouched else "NO"} |')
  return '\n'.join(rows)


if __name__ == '__main__':
  print(markdown_table())
