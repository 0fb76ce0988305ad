"""Datasets by name and deterministic, host-sharded batch streams."""

from genjax.data.arrays import ArrayStream, StepStream, padded_eval_batches
from genjax.data.codes import (CodeGrids, code_grid_arrays, code_grid_stream, load_code_grids,
                               save_code_grids)
from genjax.data.pipeline import BINARIZATIONS, TrainStream, eval_batches
from genjax.data.sources import (IMAGE_DATASETS, DataError, DatasetNotFoundError, ImageArrays,
                                 load_image_dataset)
from genjax.data.text import (SkipGramStream, Vocabulary, build_vocabulary, keep_probability,
                              noise_distribution, skipgram_eval_pairs)

__all__ = ['BINARIZATIONS', 'TrainStream', 'eval_batches', 'IMAGE_DATASETS',
           'DataError', 'DatasetNotFoundError', 'ImageArrays', 'load_image_dataset',
           'ArrayStream', 'StepStream', 'padded_eval_batches',
           'CodeGrids', 'code_grid_arrays', 'code_grid_stream', 'load_code_grids',
           'save_code_grids',
           'SkipGramStream', 'Vocabulary', 'build_vocabulary', 'keep_probability',
           'noise_distribution', 'skipgram_eval_pairs']
