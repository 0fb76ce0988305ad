"""The one exception type for errors a user can fix.

A `UserError` is about the config, the data, the workdir or a checkpoint, and its message
is one sentence or two that names the value, what is wrong with it and the remedy. The
experiment entry point (`genjax.launch`) prints the message alone and exits with status
2; `--debug` (or GENJAX_DEBUG=1) shows the traceback too. Anything else is a bug and keeps
its traceback.
"""


class UserError(Exception):
  """An error in what the user asked for; the message says how to fix it."""


class OptionError(ValueError, UserError):
  """A sampling or scoring option outside what the model takes (a label beyond its
  classes, more sampling steps than timesteps)."""
