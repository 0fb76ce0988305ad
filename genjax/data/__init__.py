"""Datasets by name and deterministic, host-sharded batch streams."""

from genjax.data.pipeline import BINARIZATIONS, TrainStream, eval_batches
from genjax.data.sources import (IMAGE_DATASETS, DatasetNotFoundError, ImageArrays,
                                 load_image_dataset)

__all__ = ['BINARIZATIONS', 'TrainStream', 'eval_batches', 'IMAGE_DATASETS',
           'DatasetNotFoundError', 'ImageArrays', 'load_image_dataset']
