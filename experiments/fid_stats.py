"""FID reference statistics of a dataset split: the mean and covariance of its images'
Inception pool3 features (genjax/tools/fid.py).

    python -m experiments.fid_stats --dataset=cifar10 --split=train --out=stats/cifar10_train.npz

Needs the converted Inception weights (--weights, default ~/.cache/genjax/inception_fid.npz;
a missing file is refused with how to get it).
"""

from absl import app, flags, logging

from genjax import cli_errors
from genjax.tools import fid

_DATASET = flags.DEFINE_string('dataset', None, 'A dataset name, as data.name takes it.')
_SPLIT = flags.DEFINE_enum('split', 'train', ['train', 'test'], 'The split.')
_OUT = flags.DEFINE_string('out', None, 'The .npz to write.')
_WEIGHTS = flags.DEFINE_string('weights', '', 'The converted Inception weights; default '
                               '~/.cache/genjax/inception_fid.npz.')
_RESIZE = flags.DEFINE_enum('resize', 'bilinear', ['bilinear', 'pil_bicubic'],
                            "bilinear: pytorch-fid's resize to 299; pil_bicubic: clean-fid's.")
_BATCH_SIZE = flags.DEFINE_integer('batch_size', 200, 'Images per compiled call.')
_MAX_EXAMPLES = flags.DEFINE_integer('max_examples', 0, 'The first n images; 0: all.')
_TFDS_DATA_DIR = flags.DEFINE_string('tfds_data_dir', '', 'As data.tfds_data_dir.')
_IDX_DIR = flags.DEFINE_string('idx_dir', '', 'As data.idx_dir.')


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f'Unexpected arguments: {argv[1:]}')
  logging.set_verbosity(logging.WARNING)
  fid.dataset_statistics(_DATASET.value, _SPLIT.value, _OUT.value, weights=_WEIGHTS.value,
                         resize=_RESIZE.value, batch_size=_BATCH_SIZE.value,
                         max_examples=_MAX_EXAMPLES.value, tfds_data_dir=_TFDS_DATA_DIR.value,
                         idx_dir=_IDX_DIR.value)


if __name__ == '__main__':
  flags.mark_flags_as_required(['dataset', 'out'])
  cli_errors.run_tool(main)
