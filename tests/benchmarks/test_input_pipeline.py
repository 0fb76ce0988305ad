"""benchmarks/input_pipeline.py: its folders read back through the loop's stream."""

import numpy as np

from benchmarks import input_pipeline


def test_the_timed_stream_delivers_stacked_calls(tmp_path):
  root = input_pipeline.write_folder(str(tmp_path), side=32, count=300, classes=3)
  stream = input_pipeline.pipeline('image_folder', root)
  timer = input_pipeline.StreamTimer(stream)
  timer.run_n(2)
  assert timer.step == 2 * input_pipeline.CALL_STEPS
  stacked = stream.stacked(timer.step, input_pipeline.CALL_STEPS)
  assert stacked['image'].shape == (input_pipeline.CALL_STEPS, input_pipeline.BATCH, 32, 32, 3)
  images = stacked['image']
  assert images.dtype == np.float32 and 0.0 <= images.min() and images.max() <= 1.0
  assert images.std() > 0.05  # photographs, not blank images
