"""A trained run as a model to use: sample, score, encode, decode, complete.

`genjax.load(path)` returns a `TrainedModel`. What it can do is what its family's
`Inference` offers (`genjax.training.family`); asking for anything else, or for an option
the family does not take, gets one line saying what there is instead.
"""

from __future__ import annotations

import dataclasses
import math
import os
from typing import Any, Iterator, Mapping

import jax
import ml_collections
import numpy as np

from genjax.data.family_data import DataInfo
from genjax.errors import UserError
from genjax.metrics.standard_error import standard_error
from genjax.training import storage
from genjax.training.family import FamilyDef, Inference, Likelihood, StepContext


class UnsupportedError(ValueError, UserError):
  """A method or an option the model's family does not offer."""


@dataclasses.dataclass(frozen=True)
class Scores:
  """Per-example log-likelihoods of a batch, or lower bounds on them.

  Attributes:
    log_p: [B] log p(x) in nats, or a lower bound on it when `exact` is False.
    exact: whether log_p is the log-likelihood itself.
    dims, unit: the dimensions an example has and their name, for bits per dimension.
  """
  log_p: np.ndarray
  exact: bool
  dims: int
  unit: str = 'dim'

  @property
  def kind(self) -> str:
    return 'exact' if self.exact else 'bound'

  @property
  def bits_per_dim(self) -> np.ndarray:
    """-log2 p(x) per dimension ([B]): the rate the papers tabulate (an upper bound on it
    when the score is a bound)."""
    return -self.log_p / (self.dims * math.log(2.0))


def _key(rng) -> jax.Array:
  if isinstance(rng, (int, np.integer)):
    return jax.random.PRNGKey(int(rng))
  return rng


@dataclasses.dataclass(eq=False)
class TrainedModel:
  """A trained model of some family, on its eval weights (EMA where the run kept them).

  Attributes:
    family: the family's name.
    config: the run's config.
    step: the checkpoint's step.
    finished: whether the run had finished training.
    path: the workdir or export directory it was read from.
    info: what the model knows of its data.
    params, context: the weights and the `StepContext` (model state, frozen upstream
      params) its functions are applied with.
    inference: the family's `Inference`.
    family_def: the family, for reading its data (`batches`, `score`).
  """
  family: str
  config: ml_collections.ConfigDict
  step: int
  finished: bool
  path: str
  info: DataInfo
  params: Any
  context: StepContext
  inference: Inference
  family_def: FamilyDef
  _compiled: dict = dataclasses.field(default_factory=dict, repr=False)
  _read_data: Any = dataclasses.field(default=None, repr=False)

  def __repr__(self) -> str:
    # short when under the working directory; a URI as it is
    where = os.path.relpath(self.path) if storage.is_local(self.path) else self.path
    where = self.path if where.startswith('..') else where
    return (f'TrainedModel({self.family!r}, step {self.step}'
            f'{"" if self.finished else ", unfinished"}, from {where}; '
            f'offers {self._offers()})')

  # Sampling and completion.

  def sample(self, rng=0, num: int = 16, **options) -> np.ndarray:
    """`num` new examples in the data's form (images [num, H, W, C] in [0, 1], texts as
    strings), a function of `rng` (a key or an int seed) and the options."""
    fn = self._require('sample', 'draws no samples')
    options = self._options('sample', self.inference.sample_options, options)
    return np.asarray(fn(self.params, _key(rng), int(num), self.context, **options))

  def complete(self, prompts, rng=0, **options) -> list[str]:
    """Each prompt continued by the model, as strings (the prompt included)."""
    fn = self._require('complete', 'completes no text')
    options = self._options('complete', self.inference.complete_options, options)
    prompts = [prompts] if isinstance(prompts, str) else list(prompts)
    return list(fn(self.params, _key(rng), prompts, self.context, **options))

  # Likelihoods.

  def log_prob(self, batch: Mapping[str, Any], rng=0, **options) -> Scores:
    """log p(x) of each example of `batch` (as the run's eval split gives them: `batches`)."""
    likelihood = self._likelihood()
    if not likelihood.exact:
      raise UnsupportedError(f'A {self.family} model bounds its likelihood '
                             f'({likelihood.description}); call bound(batch) instead of '
                             'log_prob.')
    return self._score(likelihood, batch, rng, options)

  def bound(self, batch: Mapping[str, Any], rng=0, **options) -> Scores:
    """A lower bound on log p(x) of each example of `batch`."""
    likelihood = self._likelihood()
    if likelihood.exact:
      raise UnsupportedError(f'A {self.family} model\'s likelihood is exact ('
                             f'{likelihood.description}); call log_prob(batch) instead of '
                             'bound.')
    return self._score(likelihood, batch, rng, options)

  def score(self, split: str = 'test', *, batch_size: int = 100, max_examples: int = 0,
            seed: int = 0, progress=None, **options) -> dict[str, Any]:
    """The mean log-likelihood (or bound) of a split of the run's data, with its standard
    error, in nats per example and in bits per dimension; `progress(examples scored so
    far, their mean nats)` is called after every batch when given."""
    likelihood = self._likelihood()
    options = self._options('score', likelihood.options, options)
    nll = self._compiled_nll(likelihood, tuple(sorted(options.items())))
    values, rng = [], jax.random.PRNGKey(seed)
    for i, batch in enumerate(self.batches(split, batch_size=batch_size,
                                           max_examples=max_examples, keep_padding=True)):
      mask = np.asarray(batch.pop('mask')) > 0
      per_example = np.asarray(nll(self.params, batch, jax.random.fold_in(rng, i),
                                   self.context.model_state, self.context.frozen))
      values.append(per_example[mask])
      if progress is not None:
        done = np.concatenate(values)
        progress(len(done), float(done.mean()))
    nats = np.concatenate(values).astype(np.float64)
    per_dim = nats / (likelihood.dims * math.log(2.0))
    se = lambda v: standard_error(float(v.mean()), float(np.mean(v ** 2)), len(v))
    return {'family': self.family, 'step': self.step, 'split': split,
            'kind': 'exact' if likelihood.exact else 'bound',
            'description': likelihood.description, 'options': options,
            'examples': int(len(nats)),
            'nll_nats': float(nats.mean()), 'nll_nats_se': se(nats),
            f'bits_per_{likelihood.unit}': float(per_dim.mean()),
            f'bits_per_{likelihood.unit}_se': se(per_dim)}

  # Latents.

  def encode(self, batch: Mapping[str, Any], rng=0):
    fn = self._require('encode', 'has no encoder')
    return fn(self.params, batch, _key(rng), self.context)

  def decode(self, latents, **options) -> np.ndarray:
    """Latents (as `encode` gives them, or drawn) back to examples in the data's form;
    a conditional model takes `label`."""
    fn = self._require('decode', 'has no decoder')
    return np.asarray(fn(self.params, latents, self.context, **options))

  # The run's data.

  def batches(self, split: str = 'test', *, batch_size: int = 100, max_examples: int = 0,
              keep_padding: bool = False) -> Iterator[dict[str, np.ndarray]]:
    """The run's eval split `split` in batches, as `log_prob` and `bound` take them; reads
    the data the run was trained on from where its config says it is."""
    if self._read_data is None:
      self._read_data = self.family_def.data(self.config, 0, 1)
    splits = self._read_data.splits
    if split not in splits:
      raise UnsupportedError(f'split={split!r}: a {self.family} run evaluates on '
                             f'{", ".join(sorted(splits))}; choose one of them.')
    for batch in splits[split](batch_size, 0, 1, max_examples):
      if not keep_padding:
        mask = batch.pop('mask') > 0
        batch = {k: v[mask] for k, v in batch.items()}
      yield batch

  # Helpers.

  def _require(self, method: str, missing: str):
    fn = getattr(self.inference, method)
    if fn is None:
      raise UnsupportedError(f'A {self.family} model {missing}; it offers: '
                             f'{self._offers()}.')
    return fn

  def _offers(self) -> str:
    """The methods the family's `Inference` gives this model, as a phrase."""
    offers = [name for name in ('sample', 'encode', 'decode', 'complete')
              if getattr(self.inference, name) is not None]
    likelihood = self.inference.likelihood
    if likelihood is not None:
      offers.append('log_prob' if likelihood.exact else 'bound')
    return ', '.join(offers) or 'nothing to sample or score'

  def _likelihood(self) -> Likelihood:
    if self.inference.likelihood is None:
      raise UnsupportedError(f'A {self.family} model scores no likelihood; it offers: '
                             f'{self._offers()}.')
    return self.inference.likelihood

  def _options(self, method: str, accepted: Mapping[str, Any],
               given: Mapping[str, Any]) -> dict[str, Any]:
    unknown = sorted(set(given) - set(accepted))
    if unknown:
      takes = ', '.join(sorted(accepted)) or 'no options'
      raise UnsupportedError(f'A {self.family} model\'s {method} takes no '
                             f'{", ".join(unknown)}; it takes {takes}.')
    return {**accepted, **{k: v for k, v in given.items() if v is not None}}

  def _score(self, likelihood: Likelihood, batch, rng, options) -> Scores:
    options = self._options('log_prob' if likelihood.exact else 'bound', likelihood.options,
                            options)
    nll = self._compiled_nll(likelihood, tuple(sorted(options.items())))
    batch = {k: np.asarray(v) for k, v in batch.items() if k != 'mask'}
    nats = np.asarray(nll(self.params, batch, _key(rng), self.context.model_state,
                          self.context.frozen))
    return Scores(log_p=-nats, exact=likelihood.exact, dims=likelihood.dims,
                  unit=likelihood.unit)

  def _compiled_nll(self, likelihood: Likelihood, options: tuple):
    # Model state and frozen upstream params are arguments, not constants folded into
    # the program (a second stage's frozen first stage can be large).
    if options not in self._compiled:
      def nll(params, batch, rng, model_state, frozen):
        return likelihood.nll(params, batch, rng, StepContext(model_state, frozen),
                              **dict(options))
      self._compiled[options] = jax.jit(nll)
    return self._compiled[options]
