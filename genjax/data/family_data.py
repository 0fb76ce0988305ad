"""What a family's data hands the training loop: the train stream, the eval splits, and
what the family's `build` may know of the data (`DataInfo`).

Every stream is a pure function of (seed, step), so a checkpoint's data position is its
step. An eval split is a function that yields this host's rows of padded batches.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Callable, Iterator, Mapping, Protocol

import numpy as np

if TYPE_CHECKING:  # feature data builds its Data from this module
  from genjax.data.char_text import HeldOut
  from genjax.data.features import Features
  from genjax.data.sources import ImageArrays
  from genjax.data.text import Vocabulary

# (global_batch_size, process_index, process_count, max_examples) -> padded batches with
# a 0/1 'mask', this host's rows of each
EvalSplit = Callable[[int, int, int, int], Iterator[dict[str, np.ndarray]]]


class TrainStream(Protocol):
  """A train stream: batches as pure functions of the step."""
  num_examples: int
  global_batch_size: int

  def batch(self, step: int) -> dict[str, np.ndarray]:
    ...

  def stacked(self, first_step: int, num_steps: int) -> dict[str, np.ndarray]:
    ...


@dataclasses.dataclass(frozen=True)
class DataInfo:
  """What a family may know of its data when it builds its model.

  Each data kind fills the fields it has; the others keep their empty defaults.

  Attributes:
    num_train: training examples (tokens or pairs for text), for durations in epochs.
    num_classes: label classes; 0 when the data has none.
    example_shape: one example's shape (an image's [H, W, C], a code grid's [H, W], a
      feature vector's [D], a text window's [1, T]).
    vocab_size: distinct tokens or codes, for text and code data; 0 otherwise.
    test_images: the test split's images and labels, for figures and sample scores (image
      data, and the images behind a second stage's test codes).
    features: both splits as feature vectors and the map back to pixels (feature data).
    held_out: the held-out text windows and their character vocabulary (character data).
    vocabulary: the word vocabulary with its counts (word data).
    tokens: the training text as word ids, for a family that draws its examples from it
      inside the step (word data with `data.sampler='device'`); never saved with a run.
  """
  num_train: int
  num_classes: int = 0
  example_shape: tuple[int, ...] = ()
  vocab_size: int = 0
  test_images: ImageArrays | None = None
  features: Features | None = None
  held_out: HeldOut | None = None
  vocabulary: Vocabulary | None = None
  tokens: np.ndarray | None = None

  @property
  def image_shape(self) -> tuple[int, ...]:
    return self.example_shape


@dataclasses.dataclass(frozen=True)
class Data:
  """A family's data: what it may know, the train stream and the eval splits.

  Attributes:
    info: handed to the family's `build`.
    train: the train stream (`TrainStream`).
    splits: eval splits by name; 'test' is evaluated every `eval_every` steps, and
      'train_eval' (when present and the family asks for `train_eval_examples`) beside it.
    description: one line for the log (what was loaded, from where).
  """
  info: DataInfo
  train: TrainStream
  splits: Mapping[str, EvalSplit]
  description: str = ''
