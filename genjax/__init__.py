"""genjax: deep generative models in JAX/Flax, every family through one training loop."""

from genjax import distributions
from genjax.config import ConfigError, base_config, total_steps, validate
from genjax.data import DatasetNotFoundError, load_image_dataset
from genjax.training.checkpoint import CheckpointMismatchError
from genjax.training.family import Family
from genjax.training.loop import train_and_evaluate
from genjax.trained import Scores, TrainedModel, load

__version__ = '0.1.0'

__all__ = ['distributions', 'ConfigError', 'base_config', 'total_steps', 'validate',
           'DatasetNotFoundError', 'load_image_dataset', 'CheckpointMismatchError', 'Family',
           'train_and_evaluate', 'load', 'Scores', 'TrainedModel']
