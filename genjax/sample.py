"""Samples from any trained run, as a grid of images or as text, with the raw samples.

    python -m genjax.sample --workdir=runs/vae --num=64 --out=samples.png
    python -m genjax.sample --workdir=runs/cvae --label=3 --out=threes.png
    python -m genjax.sample --workdir=runs/char_lm --num=4 --temperature=0.8 --out=s.txt
    python -m genjax.sample --workdir=runs/char_lm --prompt='The cat,A dog' --out=c.txt

--workdir takes a run's workdir or a `python -m genjax.export` directory. Options a family
does not take (--label for an unconditional model, --temperature for a GAN) are refused
in one line that lists the ones it does. Beside --out goes an .npz of the raw samples.
"""

from __future__ import annotations

from absl import app, flags, logging
import numpy as np

from genjax import cli_errors
from genjax.figures import grid
from genjax.trained import load

_WORKDIR = flags.DEFINE_string('workdir', None, 'A run\'s workdir or an exported model.')
_NUM = flags.DEFINE_integer('num', 64, 'How many samples.')
_OUT = flags.DEFINE_string('out', 'samples.png', 'The grid (.png) or text (.txt) to write; '
                           'the raw samples go beside it as .npz.')
_SEED = flags.DEFINE_integer('seed', 0, 'The samples are a function of the seed.')
_ALLOW_UNFINISHED = flags.DEFINE_bool('allow_unfinished', False, 'Sample from the latest '
                                      'checkpoint of a run that has not finished.')
_WEIGHTS = flags.DEFINE_enum('weights', 'ema', ['ema', 'trained'], 'EMA weights where the '
                             'run kept them, or the trained ones.')
_LABEL = flags.DEFINE_list('label', None, 'Class labels of a conditional model: one for '
                           'every sample, or one per sample.')
_PROMPT = flags.DEFINE_list('prompt', None, 'Text models: continue these prompts (comma-'
                            'separated) instead of drawing --num whole windows.')
_TEMPERATURE = flags.DEFINE_float('temperature', None, 'Sampling temperature.')
_TOP_K = flags.DEFINE_integer('top_k', None, 'Autoregressive models: draw from the k most '
                              'likely values only (0: all).')
_TOP_P = flags.DEFINE_float('top_p', None, 'VAR: nucleus filtering (1: none).')
_GUIDANCE_RAMP = flags.DEFINE_bool('guidance_ramp', None, 'VAR: the guidance scale rises '
                                   'from 1 at the first scale to --guidance at the last.')
_STEPS = flags.DEFINE_integer('steps', None, 'Diffusion: sampling steps.')
_ETA = flags.DEFINE_float('eta', None, 'Diffusion: DDIM eta (0 deterministic, 1 DDPM).')
_GUIDANCE = flags.DEFINE_float('guidance', None, 'Classifier-free guidance scale.')


def sample_options() -> dict:
  """The sampling options given on the command line, by the names families take."""
  label = _LABEL.value
  if label is not None:
    label = int(label[0]) if len(label) == 1 else [int(v) for v in label]
  given = {'label': label, 'temperature': _TEMPERATURE.value, 'top_k': _TOP_K.value,
           'top_p': _TOP_P.value, 'steps': _STEPS.value, 'eta': _ETA.value,
           'guidance': _GUIDANCE.value, 'guidance_ramp': _GUIDANCE_RAMP.value}
  return {k: v for k, v in given.items() if v is not None}


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f'Unexpected arguments: {argv[1:]}')
  logging.set_verbosity(logging.WARNING)  # Orbax logs every file it reads at INFO
  model = load(_WORKDIR.value, allow_unfinished=_ALLOW_UNFINISHED.value,
               weights=_WEIGHTS.value)
  if _PROMPT.value is not None:
    samples = np.asarray(model.complete(_PROMPT.value, _SEED.value, **sample_options()))
  else:
    samples = model.sample(_SEED.value, _NUM.value, **sample_options())
  for path in grid.save_samples(samples, _OUT.value):
    print(path)


if __name__ == '__main__':
  flags.mark_flags_as_required(['workdir'])
  cli_errors.run_tool(main)
