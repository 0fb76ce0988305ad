"""The Fréchet Inception Distance and Inception Score of any trained model's samples, by
the papers' protocol (genjax/tools/fid.py, genjax/evals/inception_features.py).

    python -m experiments.fid --workdir=runs/ddpm --reference=stats/cifar10_train.npz

50,000 samples by default; the reference statistics come from experiments.fid_stats or a
published .npz (pytorch-fid's, guided-diffusion's).
"""

from absl import app, flags, logging

from genjax import cli_errors
from genjax.tools import fid

_WORKDIR = flags.DEFINE_string('workdir', None, 'A run\'s workdir or an exported model.')
_REFERENCE = flags.DEFINE_string('reference', None, 'Reference statistics (.npz, mu and sigma).')
_NUM_SAMPLES = flags.DEFINE_integer('num_samples', 50_000, 'Samples scored (>= 2,048).')
_WEIGHTS = flags.DEFINE_string('weights', '', 'The converted Inception weights; default '
                               '~/.cache/genjax/inception_fid.npz.')
_RESIZE = flags.DEFINE_enum('resize', 'bilinear', ['bilinear', 'pil_bicubic'],
                            "bilinear: pytorch-fid's resize to 299; pil_bicubic: clean-fid's.")
_BATCH_SIZE = flags.DEFINE_integer('batch_size', 200, 'Samples per call.')
_SEED = flags.DEFINE_integer('seed', 0, 'The samples are a function of the seed.')
_ALLOW_UNFINISHED = flags.DEFINE_bool('allow_unfinished', False, 'Score the latest '
                                      'checkpoint of a run that has not finished.')
_OUT = flags.DEFINE_string('out', '', 'JSON path; default <workdir>/fid.json.')


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f'Unexpected arguments: {argv[1:]}')
  logging.set_verbosity(logging.WARNING)
  fid.score_run(_WORKDIR.value, _REFERENCE.value, num_samples=_NUM_SAMPLES.value,
                weights=_WEIGHTS.value, resize=_RESIZE.value, batch_size=_BATCH_SIZE.value,
                seed=_SEED.value, allow_unfinished=_ALLOW_UNFINISHED.value, out=_OUT.value)


if __name__ == '__main__':
  flags.mark_flags_as_required(['workdir', 'reference'])
  cli_errors.run_tool(main)
