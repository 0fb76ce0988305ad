"""User errors in one line, for every absl main: experiments (`genjax.launch`) and tools.

A `genjax.errors.UserError`, a bad flag or a bad config override prints
`error: <what and the remedy>` and exits with status 2; --debug (or GENJAX_DEBUG=1) shows
the traceback too. Anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import os
import sys
from typing import Callable

from absl import app, flags

from genjax.errors import UserError

EXIT_USER_ERROR = 2

flags.DEFINE_bool('debug', False, 'Show the traceback of an error in the input too.')


def debug_requested() -> bool:
  return os.environ.get('GENJAX_DEBUG', '') not in ('', '0') or '--debug' in sys.argv


def exit_with(message: str) -> None:
  print(f'error: {message}', file=sys.stderr)
  sys.exit(EXIT_USER_ERROR)


def parse_flags(argv):
  """absl's parser, with bad flags and config overrides reported in one line."""
  try:
    return flags.FLAGS(argv)
  except (flags.Error, KeyError, ValueError, AttributeError, TypeError) as e:
    if debug_requested():
      raise
    if isinstance(e, KeyError):  # ml_collections: "'modle'\nDid you mean "model"...?"
      field, *hint = str(e.args[0] if e.args else e).splitlines()
      exit_with(f'Unknown config field {field.strip()}. {" ".join(hint)}')
    # A config file's own error arrives wrapped in a flag error; its last line says it.
    last = [line.strip() for line in str(e).splitlines() if line.strip()][-1]
    exit_with(last.split(': ', 1)[1] if last.startswith(('ValueError: ', 'KeyError: ',
                                                         'UserError: ')) else last)


def user_errors_in_one_line(fn):
  def wrapped(*args):
    try:
      return fn(*args)
    except UserError as e:
      if debug_requested():
        raise
      exit_with(' '.join(line.strip() for line in str(e).split('\n') if line.strip()))
  return wrapped


def run_tool(main: Callable[[list[str]], object]) -> None:
  """app.run for a tool main (one that reads trained runs), with user errors in one line."""
  app.run(user_errors_in_one_line(main), flags_parser=parse_flags)


