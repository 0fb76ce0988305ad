"""User errors in one line, for every absl main: experiments (`genjax.launch`) and tools.

A `genjax.errors.UserError`, a bad flag or a bad config override prints
`error: <what and the remedy>` and exits with status 2; --debug (or GENJAX_DEBUG=1) shows
the traceback too. Anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import difflib
import os
import re
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
    if isinstance(e, (KeyError, AttributeError)):
      # ml_collections, for --config.<path>=: a KeyError "'modle'\nDid you mean "model"...?"
      # for a top-level field, an AttributeError wrapping it (or a bare "'negatives'") for a
      # nested one, neither with the dotted path.
      message = unknown_override_message(argv)
      if message is None and (isinstance(e, KeyError) or
                              (e.args and isinstance(e.args[0], KeyError))):
        message = _unknown_field_fallback(e)
      if message is not None:
        exit_with(message)
    # A config file's own error arrives wrapped in a flag error; its last line says it.
    last = [line.strip() for line in str(e).splitlines() if line.strip()][-1]
    exit_with(re.sub(r'^[\w.]*(Error|Exception): ', '', last))


_OVERRIDE = re.compile(r'^--?(?:no)?config\.([^=\s]+)')
_CONFIG_SPEC = re.compile(r'^--?config(?:=(.*))?$')


def unknown_override(config, paths) -> tuple[str, str | None, list[str]] | None:
  """The first of `paths` ('model.latent_dim') that names no field of `config`.

  Returns (its dotted name up to the first unknown part, the closest valid dotted name or
  None, the valid fields beside it), or None if every path names a field.
  """
  for path in paths:
    node, done = config, []
    for key in path.split('.'):
      if not hasattr(node, 'keys'):
        break  # inside a leaf (an index into a tuple): ml_collections' own error stands
      if key not in node:
        prefix = '.'.join(done + [''])
        here = difflib.get_close_matches(key, list(node.keys()), n=1)
        if here:
          return prefix + key, prefix + here[0], sorted(node.keys())
        return prefix + key, _closest_elsewhere(config, key, prefix), sorted(node.keys())
      node, done = node[key], done + [key]
  return None


def _closest_elsewhere(config, key: str, prefix: str) -> str | None:
  """The field of another section whose name is closest to `key` (model.negatives ->
  objective.num_negatives), preferring the section the user named."""
  paths = []
  def walk(node, at):
    for k in node.keys():
      paths.append(at + k)
      if hasattr(node[k], 'keys'):
        walk(node[k], at + k + '.')
  walk(config, '')
  leaves = {}
  for path in paths:
    leaves.setdefault(path.rsplit('.', 1)[-1], []).append(path)
  close = difflib.get_close_matches(key, list(leaves), n=1)
  if not close:
    return None
  same_section = [p for p in leaves[close[0]] if p.startswith(prefix)]
  return (same_section or leaves[close[0]])[0]


def unknown_override_message(argv) -> str | None:
  """One line for a --config.<path>= override that names no field of the config."""
  paths = [m.group(1) for m in map(_OVERRIDE.match, argv[1:]) if m]
  specs = []  # --config=<file>[:variants] or --config <file>[:variants]
  for i, arg in enumerate(argv[1:], 1):
    m = _CONFIG_SPEC.match(arg)
    if m and (m.group(1) is not None or i + 1 < len(argv)):
      specs.append(m.group(1) if m.group(1) is not None else argv[i + 1])
  if not paths or not specs or 'config' not in flags.FLAGS:
    return None
  try:  # the config as the flag loads it, before the overrides
    config = flags.FLAGS['config'].parser.parse(specs[-1])
    found = unknown_override(config, paths)
  except Exception:  # pylint: disable=broad-except
    return None
  if found is None:
    return None
  name, suggestion, fields = found
  message = f"Unknown config field '{name}'."
  if suggestion:
    message += f' Did you mean "{suggestion}"?'
  section = name.rpartition('.')[0]
  if section and len(fields) <= 20:
    message += f' The fields of {section}: {", ".join(fields)}.'
  elif 'config_help' in flags.FLAGS:
    message += ' --config_help lists every field.'
  return message


def _unknown_field_fallback(e: Exception) -> str:
  """ml_collections' own message in one line, where the config could not be read again."""
  inner = e.args[0] if e.args else e
  if isinstance(inner, KeyError):  # AttributeError(KeyError(...))
    inner = inner.args[0] if inner.args else inner
  field, *hint = str(inner).splitlines() or ['']
  return f'Unknown config field {field.strip()}. {" ".join(hint)}'.strip()


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


