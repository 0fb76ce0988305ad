"""The errors data raises: a dataset no source has, and data that cannot be used as asked."""

from genjax.errors import UserError


class DatasetNotFoundError(FileNotFoundError, UserError):
  """No source could provide the dataset; the message lists every way to get it."""


class DataError(ValueError, UserError):
  """The data cannot be used as asked: an empty split, a label count that differs from the
  image count, a corrupt file, a batch larger than the split, or two sources named at once."""
