"""Images per second the input pipeline delivers, beside what the train steps consume.

    python -m benchmarks.input_pipeline --out results/benchmarks/input_pipeline.json

The pipeline is what the loop reads: `TrainStream` over a source with random flips, in
`Prefetched` (background decoding of the next calls), asked for consecutive stacked calls
exactly as the loop asks. Sources: a folder of PNG files at CIFAR-10's shape (32x32x3)
and at 64x64x3, crops of photographs (PNG is also how TFDS stores these sets' images, so
decoding is the same work), and the natural patches the `cpu,patches` colour run reads. Consumers, timed in the
same interleaved repeats: the train step of configs/glow.py:cpu,patches (the colour run
this machine can train) and of configs/diffusion.py:cifar10 (Ho et al.'s 35.7M-parameter
U-Net at batch 128). The goal is a pipeline at least 5x what the colour run consumes.

Host memory: each folder is read in a fresh process at two sizes, 10x apart, and the
process's peak resident memory is recorded; a source holds its file list, not its images,
so the peak must not grow with the number of images.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile

import numpy as np

from benchmarks.harness import (Timer, arguments, begin, best_and_median, command_line, finish,
                                interleaved_repeats)

GOAL = 5.0  # pipeline images/s over the colour run's consumption
BATCH, CALL_STEPS = 128, 10  # the loop's batch and steps_per_call for the CIFAR-10 variants


def write_folder(root: str, side: int, count: int, classes: int = 10) -> str:
  """`count` PNG files of side x side crops of scikit-learn's two photographs (so that PNG
  compresses them as it does photographs) in root/train/<class>/ and root/test/<class>/."""
  from PIL import Image  # pylint: disable=g-import-not-at-top
  from sklearn.datasets import load_sample_images  # pylint: disable=g-import-not-at-top
  photos = [np.asarray(p, np.uint8) for p in load_sample_images().images]
  rng = np.random.default_rng(0)
  for split, n in (('train', count), ('test', max(classes, count // 10))):
    for c in range(classes):
      os.makedirs(os.path.join(root, split, f'class{c}'), exist_ok=True)
    for i in range(n):
      photo = photos[i % len(photos)]
      top = rng.integers(0, photo.shape[0] - side + 1)
      left = rng.integers(0, photo.shape[1] - side + 1)
      image = photo[top:top + side, left:left + side]
      Image.fromarray(image).save(os.path.join(root, split, f'class{i % classes}', f'{i}.png'))
  return root


def pipeline(name: str, image_dir: str = '', prefetch: int = 2):
  """The loop's train stream for `name` (read through `Prefetched` when prefetch > 0)."""
  from genjax.data import load_image_dataset  # pylint: disable=g-import-not-at-top
  from genjax.data.pipeline import TrainStream  # pylint: disable=g-import-not-at-top
  from genjax.data.prefetch import Prefetched  # pylint: disable=g-import-not-at-top
  source = load_image_dataset(name, 'train', image_dir=image_dir)
  stream = TrainStream(source, global_batch_size=BATCH, seed=0, binarize='none',
                       random_flip=True)
  return Prefetched(stream, prefetch) if prefetch else stream


class StreamTimer:
  """`run_n(n)`: the next n calls' stacked batches, consecutive as the loop asks."""

  def __init__(self, stream):
    self.stream, self.step = stream, 0

  def run_n(self, n: int) -> None:
    for _ in range(n):
      self.stream.stacked(self.step, CALL_STEPS)
      self.step += CALL_STEPS


def peak_memory_mib(name: str, image_dir: str, calls: int) -> float:
  """Peak resident memory of a fresh process that reads `calls` calls of `name`."""
  code = ('import resource, sys; from benchmarks.input_pipeline import pipeline, StreamTimer; '
          f'StreamTimer(pipeline({name!r}, {image_dir!r})).run_n({calls}); '
          'print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)')
  out = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True,
                       check=True, cwd=os.path.dirname(os.path.dirname(__file__)))
  return float(out.stdout.strip().splitlines()[-1])


def consumer(config_module: str, variant: str):
  """The loop's compiled train step for configs/<module>.py:<variant>, as a Timer."""
  import importlib  # pylint: disable=g-import-not-at-top
  from benchmarks.loop_step import LoopStep, benchmark_config  # pylint: disable=g-import-not-at-top
  get_config = importlib.import_module(f'configs.{config_module}').get_config
  family = importlib.import_module(f'genjax.families.{config_module}').FAMILY
  config = benchmark_config(get_config, variant, steps_per_call=1)
  # The step is timed on batches built before the clock starts; only their shape matters.
  config.data.name, config.data.image_size = 'natural_patches', 0
  return LoopStep(family, config, calls=1)


def main(argv=None):
  p = arguments(__doc__, repeats=3, min_time=3.0,
                quick='folders of 200 and 2,000 images and no DDPM step: a minute, not ten')
  args = p.parse_args(argv)
  env, machine = begin(__doc__, batch=BATCH, steps_per_call=CALL_STEPS)
  small, large = (200, 2000) if args.quick else (2000, 20000)
  with tempfile.TemporaryDirectory() as tmp:
    folders = {side: {n: write_folder(os.path.join(tmp, f'{side}_{n}'), side, n)
                      for n in (small, large)} for side in (32, 64)}
    memory = {f'folder{side}_{n}_images_peak_mib': peak_memory_mib('image_folder', d, 20)
              for side, by_count in folders.items() for n, d in by_count.items()}
    print('peak resident memory per process (MiB):', json.dumps(memory), flush=True)
    streams = {'folder32 (CIFAR-10 shape)': pipeline('image_folder', folders[32][large]),
               'folder64 (64x64)': pipeline('image_folder', folders[64][large]),
               'folder32 without prefetch': pipeline('image_folder', folders[32][large], 0),
               'natural_patches': pipeline('natural_patches')}
    measures = {key: Timer(StreamTimer(s).run_n, BATCH * CALL_STEPS, args.min_time).rate
                for key, s in streams.items()}
    glow = consumer('glow', 'cpu,patches')
    measures['glow cpu,patches step'] = glow.timer(args.min_time).rate
    if not args.quick:
      ddpm = consumer('diffusion', 'cifar10')
      measures['ddpm cifar10 step'] = ddpm.timer(0.0).rate
    raw, others = interleaved_repeats(measures, args.repeats)
  best, median = best_and_median(raw)
  ratio = best['folder32 (CIFAR-10 shape)'] / best['glow cpu,patches step']
  print('images/s (best of repeats):')
  for key, value in best.items():
    print(f'  {key:28s} {value:10.1f}')
  print(f'pipeline at CIFAR-10 shape / glow cpu,patches consumption: {ratio:.1f}x '
        f'(goal >= {GOAL:.0f}x)')
  result = {'command': command_line('benchmarks.input_pipeline', argv), 'images_per_s': best,
            'median_images_per_s': median, 'raw': raw, 'ratio_to_colour_run': ratio,
            'goal': GOAL, 'peak_memory_mib': memory, 'folder_sizes': [small, large]}
  finish(args.out, result, machine, others, env)


if __name__ == '__main__':
  main()
