"""A jax.profiler trace of a window of train steps, chosen by `config.profile_steps`."""

from __future__ import annotations

import glob
import logging
import os
import tempfile

import jax

from genjax import config as config_lib
from genjax.training import storage

logger = logging.getLogger(__name__)


class ProfileWindow:
  """Traces the train calls from the first call boundary at or after START until at least
  COUNT steps have run (`profile_steps='START:COUNT'`), into <workdir>/profile.

  The loop wraps each train call in `train_call` and reports its end to `call_done`; used
  as a context manager around the training, so that a run that ends or raises inside the
  window still stops the trace and writes it. A window that begins at an invocation's
  first call includes its compilation; a run resumed past the window traces nothing.

  Only process 0 traces: every process runs the same program on its own shard, so one
  host's trace shows the step, and a single trace per window is what jax's Perfetto
  export (perfetto_trace.json.gz) reads.
  """

  def __init__(self, profile_steps: str, steps_per_call: int, workdir: str):
    window = config_lib.parse_profile_steps(profile_steps)
    self.target = os.path.join(workdir, 'profile')
    # The profiler writes local files: for a workdir in an object store, the trace is
    # written here first and copied up when it stops.
    self._staging = None
    self.directory = self.target
    self._profile_steps = profile_steps
    self._first = self._count = None
    if window is not None and jax.process_index() == 0:
      start, self._count = window
      self._first = -(-start // steps_per_call) * steps_per_call
      if not storage.is_local(workdir):
        self._staging = tempfile.TemporaryDirectory(prefix='genjax-profile-')
        self.directory = self._staging.name
    self._tracing = self._traced = False
    self._reached = None  # the step the traced calls have reached

  def train_call(self, step: int):
    """The annotation of the call that starts at `step`; the trace starts before it where
    the window begins."""
    if step == self._first and not self._traced:
      jax.profiler.start_trace(self.directory, create_perfetto_trace=True)
      self._tracing = self._traced = True
    return jax.profiler.StepTraceAnnotation('train', step_num=step)

  def call_done(self, step: int, outputs) -> None:
    """After the call that reached `step`: stops the trace once the window's steps have
    run, when `outputs` (the call's) are computed."""
    if not self._tracing:
      return
    self._reached = step
    if step >= self._first + self._count:
      jax.block_until_ready(outputs)
      self._stop()

  def __enter__(self) -> ProfileWindow:
    return self

  def __exit__(self, *exc) -> None:
    if self._tracing:  # the run ended, or raised, inside the window
      self._stop()
    elif self._first is not None and not self._traced:
      logger.info('profile_steps=%s: no train call of this run started at step %d, so '
                  'nothing was traced.', self._profile_steps, self._first)

  def _stop(self) -> None:
    jax.profiler.stop_trace()
    self._tracing = False
    steps = f'{self._first}..{self._first if self._reached is None else self._reached}'
    traces = glob.glob(os.path.join(self.directory, 'plugins', 'profile', '*',
                                     'perfetto_trace.json.gz'))
    perfetto = max(traces, key=os.path.getmtime) if traces else self.directory
    if self._staging is not None:
      storage.upload_changed(self.directory, self.target, {})
      perfetto = os.path.join(self.target, os.path.relpath(perfetto, self.directory))
    logger.info('profiled train steps %s into %s: view it with `tensorboard --logdir %s` '
                '(the Profile tab; pip install tensorboard tensorboard-plugin-profile), or '
                'open %s in ui.perfetto.dev.', steps, self.target, self.target, perfetto)
