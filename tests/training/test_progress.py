"""Progress lines: rates exclude compile and evaluation time, a line comes every
`heartbeat_seconds` however long the log interval, and a sweep's ETA covers its later runs."""

from genjax.training import progress as progress_lib


class _Clock:
  def __init__(self):
    self.now = 0.0

  def __call__(self):
    return self.now


def _progress(monkeypatch, **kwargs):
  clock = _Clock()
  monkeypatch.setattr(progress_lib.time, 'perf_counter', clock)
  return progress_lib.Progress(1000, 0, 32, **kwargs), clock


def test_the_rate_excludes_compile_time(monkeypatch):
  p, clock = _progress(monkeypatch)
  clock.now = 100.0  # the first call compiled for 100 s and ran 10 steps
  p.first_call_done(10)
  clock.now = 101.0
  assert p.line(20, 1.0) == 10.0  # 10 steps in the second since, not 20 in 101


def test_a_line_is_due_every_heartbeat_even_while_evaluations_restart_the_clock(monkeypatch):
  p, clock = _progress(monkeypatch, heartbeat_seconds=20.0)
  clock.now = 5.0
  p.first_call_done(10)
  assert not p.heartbeat_due()
  clock.now = 15.0
  p.restart_clock(50)  # an evaluation
  clock.now = 21.0
  assert p.heartbeat_due()
  p.line(60, 1.0)
  assert not p.heartbeat_due()


def test_a_sweeps_eta_adds_the_runs_after_this_one(monkeypatch, caplog):
  p, clock = _progress(monkeypatch, label='model 1/3 (z2)', runs_after=2)
  clock.now = 10.0
  with caplog.at_level('INFO', logger='genjax'):
    p.line(100, 1.0)  # 10 steps/s: 90 s left here, 100 s for each later run
  assert 'model 1/3 (z2)' in caplog.text and 'ETA 0:01:30  (all runs: 0:04:50)' in caplog.text


def test_one_slow_call_after_an_evaluation_does_not_swing_the_eta(monkeypatch, caplog):
  p, clock = _progress(monkeypatch)
  clock.now = 10.0
  p.line(100, 1.0)  # 10 steps/s
  p.restart_clock(100)  # an evaluation
  clock.now = 20.0
  with caplog.at_level('INFO', logger='genjax'):
    assert p.line(110, 1.0) == 1.0  # this call waited on the checkpoint: 1 step/s
  # 110 steps in 20 s of training: 890 steps left at 5.5 steps/s, not at 1 step/s.
  assert 'ETA 0:02:41' in caplog.text


def test_before_a_step_is_timed_the_rate_includes_the_compile(monkeypatch, caplog):
  p, clock = _progress(monkeypatch)
  clock.now = 60.0
  p.first_call_done(10)  # 10 steps in 60 s, compile included
  with caplog.at_level('INFO', logger='genjax'):
    assert p.line(10, 1.0) == 10 / 60
  assert 'ETA 1:39:00' in caplog.text and 'days' not in caplog.text  # 990 steps at 1/6 per s


def test_a_long_evaluation_logs_its_progress_with_an_eta(monkeypatch, caplog, tmp_path):
  from configs import vae  # pylint: disable=g-import-not-at-top
  from genjax.families import vae as vae_family  # pylint: disable=g-import-not-at-top
  from genjax.training import run as run_lib  # pylint: disable=g-import-not-at-top
  from genjax.training.loop import train_and_evaluate  # pylint: disable=g-import-not-at-top
  monkeypatch.setattr(run_lib, 'EVAL_HEARTBEAT_SECONDS', 0.0)  # a line after every batch
  config = vae.get_config('smoke')
  config.unlock()
  config.total_steps, config.eval_every, config.eval.train_examples = 4, 0, 0
  config.eval_batch_size = 32  # the 297 test digits: 10 batches
  with caplog.at_level('INFO', logger='genjax'):
    train_and_evaluate(vae_family.FAMILY, config, str(tmp_path))
  assert 'test_final: evaluating, batch 1/10 (10%)' in caplog.text
  assert 'batch 10/10 (100%)' in caplog.text and 'ETA 0:00:00' in caplog.text
