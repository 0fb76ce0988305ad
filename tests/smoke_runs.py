"""Smoke runs trained once per test session and shared by every test that only reads them.

`trained('vae')` is `python -m experiments.vae --config=configs/vae.py:smoke --workdir=<dir>`
as a user runs it: the first test to ask trains it while the others wait on its lock (both
xdist workers share the runs), and it is kept, with what the main printed, until the
session ends (tests/conftest.py removes them). A run is keyed on its main, variant and
flags. `trained_in_process` shares a run that a test trains in its own process (on data
only that process sees, such as TFDS's mock data), keyed by the test.

The runs are read-only: a test that would change one (resume it, delete a file, write a
score beside it) copies it first, or trains its own. Each call checks that no file of the
run changed since it was trained, so a test that breaks the rule fails loudly rather than
hand a changed run to the tests after it.
"""

from __future__ import annotations

import dataclasses
import fcntl
import hashlib
import json
import os
import pathlib
import shutil
import subprocess
import sys
from typing import Callable

from tests.conftest import REPO, SMOKE_RUNS
from tests.families.random_classifier import session_random_digits_classifier

# What readers may write in a run, so no part of what the run holds: the workdir lock a
# main takes (a rerun of a finished run takes it too, finds the run done and reads only),
# and the code grids a second stage encodes once beside the stage-1 run it reads (written
# whole, by whichever reader comes first; genjax.data.codes).
_WORKDIR_LOCK = '.lock'
_CODE_GRIDS = 'codes'


@dataclasses.dataclass(frozen=True)
class SmokeRun:
  """A finished run and what its main printed (nothing, for a run trained in process)."""
  workdir: pathlib.Path
  stdout: str = ''
  stderr: str = ''

  def assert_unchanged(self) -> None:
    recorded = json.loads((self.workdir.parent / 'files.json').read_text())
    now = _file_hashes(self.workdir)
    changed = sorted(path for path in set(recorded) | set(now)
                     if recorded.get(path) != now.get(path))
    assert not changed, (f'a test changed the shared run {self.workdir}: {changed} (copy it '
                         'before changing it, or train your own)')


def trained(name: str, *flags: str, variant: str = 'smoke') -> SmokeRun:
  """`python -m experiments.<name> --config=configs/<name>.py:<variant> <flags>`, finished."""
  command = [sys.executable, '-m', f'experiments.{name}',
             f'--config=configs/{name}.py:{variant}', *flags]

  def train(entry):
    result = subprocess.run([*command, f'--workdir={entry / "run"}'], cwd=REPO,
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    (entry / 'stdout.txt').write_text(result.stdout)
    (entry / 'stderr.txt').write_text(result.stderr)

  key = f"{name}-{variant.replace(',', '+')}"
  if flags:
    key += '-' + hashlib.sha1('\0'.join(flags).encode()).hexdigest()[:10]
  entry = _shared(key, train)
  return _checked(SmokeRun(entry / 'run', (entry / 'stdout.txt').read_text(),
                           (entry / 'stderr.txt').read_text()))


def scored_gan() -> SmokeRun:
  """The GAN smoke run that scores its samples (40) in a random digits classifier's features:
  the one GAN run the tests share."""
  return trained('gan', f'--config.eval.classifier={session_random_digits_classifier()}',
                 '--config.eval.frechet_samples=40')


def scored_ddpm() -> SmokeRun:
  """The DDPM smoke run that scores its samples (24) in the classifier smoke run's features:
  the one DDPM run the tests share."""
  classifier = trained('classifier').workdir
  return trained('diffusion', f'--config.eval.classifier={classifier}',
                 '--config.eval.frechet_samples=24')


def shared_vqvae() -> pathlib.Path:
  """configs/vqvae.py:smoke's run, which the code prior's smoke run trains first into
  <its workdir>/stage1 as a user's `python -m experiments.code_prior` does."""
  return trained('code_prior').workdir / 'stage1'


def over_shared_vqvae(name: str) -> SmokeRun:
  """configs/<name>.py:smoke over `shared_vqvae()` rather than a stage 1 of its own: the
  second stages whose own training of stage 1 is not under test here (MaskGIT, latent
  diffusion; the code prior's and VAR's is, in tests/experiments/test_smoke.py)."""
  return trained(name, f'--config.data.stage1_workdir={shared_vqvae()}')


def trained_in_process(key: str, train: Callable[[str], object]) -> SmokeRun:
  """The run `train(workdir)` makes, trained by the first test that asks for `key`."""
  entry = _shared(key, lambda entry: train(str(entry / 'run')))
  return _checked(SmokeRun(entry / 'run'))


def _shared(key: str, train: Callable[[pathlib.Path], None]) -> pathlib.Path:
  """The session's directory for `key`, its run trained into <it>/run by the first caller."""
  os.makedirs(SMOKE_RUNS, exist_ok=True)
  entry = pathlib.Path(SMOKE_RUNS) / key
  with open(f'{entry}.lock', 'w') as lock:
    fcntl.flock(lock, fcntl.LOCK_EX)
    if not (entry / 'files.json').exists():
      shutil.rmtree(entry, ignore_errors=True)  # what a failed try left
      entry.mkdir()
      train(entry)
      # Written last: its presence says the run is complete.
      (entry / 'files.json').write_text(json.dumps(_file_hashes(entry / 'run')))
  return entry


def _checked(run: SmokeRun) -> SmokeRun:
  run.assert_unchanged()
  return run


def _file_hashes(workdir: pathlib.Path) -> dict[str, str]:
  hashes = {}
  for directory, subdirectories, files in os.walk(workdir):
    if _CODE_GRIDS in subdirectories:
      subdirectories.remove(_CODE_GRIDS)
    for file in files:
      if file != _WORKDIR_LOCK:
        path = os.path.join(directory, file)
        with open(path, 'rb') as f:
          hashes[os.path.relpath(path, workdir)] = hashlib.sha1(f.read()).hexdigest()
  return hashes
