"""What a model family hands to the one training loop.

An experiment main names its family: `launch.train(vae.FAMILY)` runs
`train_and_evaluate(family_def, config, workdir)`. A `FamilyDef` is the family as a main
names it, and nothing registers it anywhere:

- `name`: equal to the family's module (`genjax/families/<name>.py`) and to the
  `family` field of every config written for it; a config of another family is refused.
- `schema()`: the config the family accepts; the loop validates against it.
- `data(config, process_index, process_count) -> Data`: the train stream and the eval
  splits (`genjax.data.family_data`); images are the default (`genjax.data.image_data`).
- `build(config, info: DataInfo) -> Family`: the model, its objective and its sampler.

A `Family` is three parts. `Training` is what the compiled step runs: the initial params
and model state, the objective (or a whole update), the optimiser, and the params of an
upstream run it reads. `Reporting` is what the loop calls between steps: evaluation and
its summary, the final evaluation, artifacts and figures. `Inference` is what a trained
model offers its user through `genjax.load`: `sample` with its options, the likelihood
(exact or a bound), `encode`/`decode`, `complete`.

`build` also runs without the data: `genjax.load` builds a trained run's family from the
`DataInfo` the run saved (`genjax.data.info_file`), whose test images, held-out windows
and feature arrays are empty. What only figures need of the test set is then left out.

Every function a family writes has one form, with the same last argument: a
`StepContext` holding the model state and the frozen upstream params, for the families
that keep or read them (the others ignore it):

    loss_fn(params, batch, rng, context) -> (loss, metrics)
                                         or (loss, (metrics, new_model_state))
    eval_fn(params, batch, rng, context) -> {metric: per-example values [B]}
    artifacts_fn(params, rng, context) -> {name: array}
    sample(params, rng, num_samples, context, **options) -> samples

What each shape of family gives the loop (each is trained and resumed by a toy family in
tests/training/toys):

- A differentiable objective (VAE, PixelCNN, Transformer, RNN, Glow, VQ-VAE, DDPM):
  `loss_fn`; the default `gradient_update` differentiates it with respect to params only.
- Mutable state that is not a gradient parameter (BatchNorm statistics, EMA codebook
  counts, EM sufficient statistics): `init_model_state` makes it, the objective returns its
  new value as `(loss, (metrics, new_model_state))`, and the train state carries,
  checkpoints and resumes it. Under `jit` on the mesh the batch is one global array, so
  statistics computed from it are already reduced over every device.
- Several networks with their own optimisers (a GAN): `make_optimizer` returns a dict of
  optax transforms keyed like params' top level, and `update_fn(state, batch, rng, frozen)`
  updates any subset of them (`optimizers.apply_optimizer(..., only=(...))`).
- No gradient at all (EM, PCA in closed form, word2vec's row-sparse SGD): `update_fn`
  writes the new params or model state itself; `make_optimizer` returns None.
- A second stage over a trained first stage (a prior over a VQ-VAE's codes): `build`
  reads the run with `restore.load_run`, puts its params in `frozen` and its workdir and
  signature in `upstream`. `frozen` enters the compiled step as an argument (replicated,
  never updated, never folded into the program as constants); `upstream` is recorded in
  every checkpoint, and resuming against another upstream model is refused.
- EMA weights (DDPM): `config.ema_decay > 0`; evaluation, artifacts and `sample` then see
  them.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable, Mapping

import jax
import ml_collections
import numpy as np

from genjax.data.family_data import Data, DataInfo

Params = Any  # a pytree of arrays
ModelState = Any  # a pytree of arrays, or None
Frozen = Any  # a pytree of arrays, or None
Batch = Mapping[str, jax.Array]
Metrics = dict[str, jax.Array]


@dataclasses.dataclass(frozen=True)
class StepContext:
  """What a family's functions read besides params: its model state (None when it keeps
  none) and the frozen params of an upstream run (None when it reads none)."""
  model_state: ModelState = None
  frozen: Frozen = None


# (params, batch, rng, context) -> (loss, metrics) or (loss, (metrics, new model state))
LossFn = Callable[[Params, Batch, jax.Array, StepContext],
                  tuple[jax.Array, Metrics | tuple[Metrics, ModelState]]]
# (state, batch, rng, frozen) -> (state, metrics with a 'loss'): a whole update, for
# families whose step is not "differentiate one loss" (GAN, EM, PCA, word2vec).
UpdateFn = Callable[[Any, Batch, jax.Array, Frozen], tuple[Any, Metrics]]
# (params, batch, rng, context) -> {metric: per-example values [B]}
EvalFn = Callable[[Params, Batch, jax.Array, StepContext], Metrics]
# (params, rng, context) -> {name: array}
ArtifactsFn = Callable[[Params, jax.Array, StepContext], dict[str, Any]]
OptimizerTree = Any  # optax transform, a dict of them keyed like params, or None


def split_loss_aux(aux, model_state: ModelState) -> tuple[Metrics, ModelState]:
  """(metrics, model state) from a loss's aux: the new model state when the loss returned
  one, else `model_state` unchanged."""
  if isinstance(aux, tuple):
    return aux
  return aux, model_state


@dataclasses.dataclass(frozen=True)
class Training:
  """What the compiled step runs.

  Attributes:
    init_params: (rng, example_batch) -> params.
    loss_fn: the pure objective, minimised by the default gradient update.
    update_fn: a whole update instead of `loss_fn` (exactly one of the two is set).
    make_optimizer: replaces `genjax.training.optimizers.make_optimizer` when set; may
      return a dict of transforms (one per network) or None (gradient-free families).
    init_model_state: (rng, example_batch, params) -> model state; None keeps none.
    frozen: params of another run that the step reads and never updates (a jit argument).
    upstream: where `frozen` came from ({'workdir', 'step', 'signature'}), recorded in
      checkpoints.
  """
  init_params: Callable[[jax.Array, Batch], Params]
  loss_fn: LossFn | None = None
  update_fn: UpdateFn | None = None
  make_optimizer: Callable[[], OptimizerTree] | None = None
  init_model_state: Callable[[jax.Array, Batch, Params], ModelState] | None = None
  frozen: Frozen = None
  upstream: Mapping[str, Any] | None = None

  def __post_init__(self):
    if (self.loss_fn is None) == (self.update_fn is None):
      raise TypeError('A family trains by a loss_fn or by an update_fn: set exactly one.')


@dataclasses.dataclass(frozen=True)
class Reporting:
  """What the loop calls between steps, on the EMA params when the run keeps them.

  Attributes:
    eval_fn: per-example metrics; the loop averages them over the split, skipping padded
      examples.
    eval_summary: split means -> scalar metrics, for metrics that are not means of
      per-example values: eval_fn may give a vector per example (a VQ-VAE's code counts
      [B, K]), averaged over the split like any metric, which this turns into scalars
      (perplexity, the fraction of codes used). None: every metric is a scalar already.
    eval_examples: test examples evaluated; 0: the whole test set.
    train_eval_examples: > 0: also evaluate on this many training examples.
    final_eval_fn: like eval_fn, run once at the end (e.g. IWAE with large k); may be None.
    artifacts_fn: saved for figures; may be None. Its numeric scalars (a sample-based
      score, say) are also metrics: the loop writes them to metrics.jsonl under split
      'artifacts' and into final_metrics.json.
    render_figures: (artifacts_npz_path, out_dir) -> [png paths]; plain NumPy/matplotlib,
      it never imports the training loop.
  """
  eval_fn: EvalFn
  eval_summary: Callable[[dict[str, np.ndarray]], dict[str, float]] | None = None
  eval_examples: int = 0
  train_eval_examples: int = 0
  final_eval_fn: EvalFn | None = None
  artifacts_fn: ArtifactsFn | None = None
  render_figures: Callable[[str, str], list[str]] | None = None


@dataclasses.dataclass(frozen=True)
class Likelihood:
  """How a family scores data: -log p(x) per example in nats, exactly or as a bound.

  Attributes:
    nll: (params, batch, rng, context, **options) -> [B] nats; the batch is one the run's
      eval split gives (`genjax.data.family_data.Data.splits`).
    exact: True when nll is -log p(x) itself; False when it is an upper bound on it (an
      ELBO or IWAE bound, a diffusion model's variational bound).
    options: the keyword options nll takes, with their defaults ({'k': 1} for IWAE).
    dims: how many dimensions one example has, for the per-dimension rate in bits.
    unit: what a dimension is called in that rate ('dim' for images, 'char' for text).
    description: one line on what is scored, written beside the numbers.
  """
  nll: Callable[..., jax.Array]
  exact: bool
  dims: int
  options: Mapping[str, Any] = dataclasses.field(default_factory=dict)
  unit: str = 'dim'
  description: str = ''


@dataclasses.dataclass(frozen=True)
class Inference:
  """What a trained model of the family offers its user (`genjax.load`); every function
  gets the eval params (EMA where the run kept them) and the `StepContext`.

  Attributes:
    sample: (params, rng, num, context, **options) -> num new examples in the data's form
      (images [n, H, W, C] in [0, 1]; texts as a NumPy array of strings); None for
      families that model no distribution over their data to draw from.
    sample_options: the keyword options sample takes, with their defaults; any other
      option is refused. Shared names: label (an int, or one per sample), temperature,
      top_k, steps, eta, guidance.
    likelihood: how the family scores data; None when it does not.
    encode: (params, batch, rng, context) -> latents, for the latent families.
    decode: (params, latents, context) -> examples in the data's form.
    complete: (params, rng, prompts, context, **options) -> the prompts continued, as
      strings (text models).
    complete_options: the keyword options complete takes, with their defaults.
  """
  sample: Callable[..., Any] | None = None
  sample_options: Mapping[str, Any] = dataclasses.field(default_factory=dict)
  likelihood: Likelihood | None = None
  encode: Callable[..., Any] | None = None
  decode: Callable[..., Any] | None = None
  complete: Callable[..., Any] | None = None
  complete_options: Mapping[str, Any] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass(frozen=True)
class Family:
  """One model family, built from a config by its `FamilyDef.build`.

  Attributes:
    name: the family's name (`FamilyDef.name`); with `signature` it marks checkpoints.
    signature: what identifies the model (its config), so that a checkpoint from another
      model is refused with a clear error rather than a shape mismatch.
    training: what the compiled step runs.
    reporting: what the loop calls between steps.
    inference: what a trained model offers its user (`genjax.load`).
  """
  name: str
  signature: Mapping[str, Any]
  training: Training
  reporting: Reporting
  inference: Inference = Inference()


@dataclasses.dataclass(frozen=True)
class FamilyDef:
  """A family as an experiment main names it: its config schema, its data and its build.

  `ranges` constrains the family's own fields beyond their types ({'model.latent_dim':
  'positive', ...}; see `genjax.config.check_ranges`), checked before anything compiles.
  `compute_dtypes` lists the `compute_dtype`s its build passes on to its models.
  """
  name: str
  schema: Callable[[], ml_collections.ConfigDict]
  build: Callable[[ml_collections.ConfigDict, DataInfo], Family]
  data: Callable[[ml_collections.ConfigDict, int, int], Data]
  ranges: Mapping[str, Any] = dataclasses.field(default_factory=dict)
  # The config's compute_dtype values this family's models honour; others are refused.
  compute_dtypes: tuple[str, ...] = ('float32',)


def to_numpy(tree) -> Any:
  return jax.tree.map(np.asarray, jax.device_get(tree))


def model_signature(section: ml_collections.ConfigDict,
                    added_later: Mapping[str, Any]) -> dict:
  """`section` as a checkpoint signature, leaving out each field of `added_later` (name ->
  the behaviour runs had before the field existed) while it holds that value: a run saved
  before the field was added resumes, and one that sets it is told apart."""
  signature = section.to_dict()
  for field, before in added_later.items():
    if signature.get(field) == before:
      signature.pop(field)
  return signature
