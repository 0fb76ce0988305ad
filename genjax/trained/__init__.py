"""A trained run as a model to use (`genjax.load`) and as files to share (`export`)."""

from genjax.trained.exporting import export
from genjax.trained.loading import load
from genjax.trained.model import Scores, TrainedModel

__all__ = ['export', 'load', 'Scores', 'TrainedModel']
