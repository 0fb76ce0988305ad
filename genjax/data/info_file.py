"""What a family's `build` knows of its data, saved beside a run so that the run can be
rebuilt without the data: `data_info.json` (and `data_info.npz` for arrays).

A trained model is used where its data may not be (an exported model on another machine,
a run over a dataset since deleted), and rebuilding a second stage's data would run its
first stage over every image. What is kept is what inference needs: the sizes, the
vocabularies, the map from features back to pixels. What is not kept is what figures and
evaluation read: the test images, the held-out windows, the feature arrays. A DataInfo
read back here has those empty.
"""

from __future__ import annotations

import json

import numpy as np
from etils import epath

from genjax.data.char_text import CharVocabulary, HeldOut
from genjax.data.family_data import DataInfo
from genjax.data.features import Features
from genjax.data.text import Vocabulary

JSON_NAME, ARRAYS_NAME = 'data_info.json', 'data_info.npz'


def write(info: DataInfo, directory: str) -> None:
  """Writes `info`'s inference part into `directory`."""
  record = {'num_train': info.num_train, 'num_classes': info.num_classes,
            'example_shape': list(info.example_shape), 'vocab_size': info.vocab_size}
  arrays = {}
  if info.held_out is not None:
    record['characters'] = info.held_out.vocabulary.chars
  if info.vocabulary is not None:
    record['words'] = list(info.vocabulary.words)
    arrays['word_counts'] = np.asarray(info.vocabulary.counts)
  if info.features is not None:
    record['features'] = {'image_shape': list(info.features.image_shape),
                          'dims': int(info.features.train.shape[-1]),
                          'projection': sorted(info.features.projection or {})}
    for name, value in (info.features.projection or {}).items():
      arrays[f'projection/{name}'] = np.asarray(value)
  directory = epath.Path(directory)
  directory.mkdir(parents=True, exist_ok=True)
  if arrays:
    with (directory / ARRAYS_NAME).open('wb') as f:
      np.savez(f, **arrays)
  (directory / JSON_NAME).write_text(json.dumps(record, indent=2))


def exists(directory: str) -> bool:
  return (epath.Path(directory) / JSON_NAME).exists()


def read(directory: str) -> DataInfo:
  """The DataInfo `write` left in `directory`, without test images or held-out windows."""
  directory = epath.Path(directory)
  record = json.loads((directory / JSON_NAME).read_text())
  arrays = {}
  if (directory / ARRAYS_NAME).exists():
    with (directory / ARRAYS_NAME).open('rb') as f:
      with np.load(f) as npz:
        arrays = {name: npz[name] for name in npz.files}
  held_out = vocabulary = features = None
  if 'characters' in record:
    held_out = HeldOut(CharVocabulary(record['characters']),
                       np.zeros((0, record['example_shape'][-1]), np.int32))
  if 'words' in record:
    words = tuple(record['words'])
    vocabulary = Vocabulary(words, arrays['word_counts'], {w: i for i, w in enumerate(words)})
  if 'features' in record:
    f = record['features']
    empty = np.zeros((0, f['dims']), np.float32)
    projection = {name: arrays[f'projection/{name}'] for name in f['projection']} or None
    features = Features(train=empty, test=empty, test_labels=np.zeros(0, np.int32),
                        image_shape=tuple(f['image_shape']), projection=projection)
  return DataInfo(num_train=record['num_train'], num_classes=record['num_classes'],
                  example_shape=tuple(record['example_shape']),
                  vocab_size=record['vocab_size'], held_out=held_out,
                  vocabulary=vocabulary, features=features)
