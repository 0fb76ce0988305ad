"""The log-likelihood of a split under any trained run, or the bound on it, as JSON.

    python -m genjax.score --workdir=runs/glow
    python -m genjax.score --workdir=runs/vae --k=5000 --max_examples=1000

Prints and writes {kind: exact | bound, nll_nats, bits_per_dim, their standard errors,
examples, ...}. --workdir takes a run's workdir or an exported model; the data is read
from where the run's config says it is.
"""

from __future__ import annotations

import json
import os
import sys
import time

from absl import app, flags, logging

from genjax import cli_errors
from genjax.trained import load

PROGRESS_SECONDS = 10.0

_WORKDIR = flags.DEFINE_string('workdir', None, 'A run\'s workdir or an exported model.')
_SPLIT = flags.DEFINE_string('split', 'test', 'The split of the run\'s data to score.')
_MAX_EXAMPLES = flags.DEFINE_integer('max_examples', 0, 'The first n examples; 0: all.')
_BATCH_SIZE = flags.DEFINE_integer('batch_size', 100, 'Examples per compiled call.')
_SEED = flags.DEFINE_integer('seed', 0, 'Seed of a stochastic bound.')
_OUT = flags.DEFINE_string('out', '', 'JSON path; default <workdir>/score_<split>.json, or '
                           'only printed when the workdir cannot be written.')
_ALLOW_UNFINISHED = flags.DEFINE_bool('allow_unfinished', False, 'Score the latest '
                                      'checkpoint of a run that has not finished.')
_WEIGHTS = flags.DEFINE_enum('weights', 'ema', ['ema', 'trained'], 'EMA weights where the '
                             'run kept them, or the trained ones.')
_K = flags.DEFINE_integer('k', None, 'IWAE importance samples (VAE).')
_TIMESTEPS = flags.DEFINE_integer('timesteps', None, 'Diffusion: network calls per image '
                                  'for the bound (0: every term).')


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f'Unexpected arguments: {argv[1:]}')
  logging.set_verbosity(logging.WARNING)
  model = load(_WORKDIR.value, allow_unfinished=_ALLOW_UNFINISHED.value,
               weights=_WEIGHTS.value)
  options = {k: v for k, v in (('k', _K.value), ('timesteps', _TIMESTEPS.value))
             if v is not None}
  last = [0.0]

  def progress(done: int, mean_nats: float) -> None:
    if time.monotonic() - last[0] >= PROGRESS_SECONDS:  # the first batch, then every few s
      last[0] = time.monotonic()
      print(f'{done:,} examples scored, running mean {mean_nats:.3f} nats', file=sys.stderr)

  result = model.score(_SPLIT.value, batch_size=_BATCH_SIZE.value,
                       max_examples=_MAX_EXAMPLES.value, seed=_SEED.value, progress=progress,
                       **options)
  text = json.dumps(result, indent=2)
  print(text)
  out = _OUT.value or os.path.join(model.path, f'score_{_SPLIT.value}.json')
  try:
    with open(out, 'w') as f:
      f.write(text + '\n')
  except OSError:
    if _OUT.value:
      raise


if __name__ == '__main__':
  flags.mark_flags_as_required(['workdir'])
  cli_errors.run_tool(main)
