"""What a model family hands to the one training loop, and how each family plugs in.

An experiment main names its family: `launch.run(train_and_evaluate, vae.FAMILY)`. A
`FamilyDef` is four things, none of them registered anywhere:

- `schema()`: the config the family accepts; the loop validates against it, and a config
  of another family is refused (`config.family` must equal `FamilyDef.name`).
- `data(config, process_index, process_count) -> Data`: the train stream and the eval
  splits. Images are the default (`genjax.data.image_data`); a text stream
  (`genjax.data.text`) or a stream of stored code grids (`genjax.data.codes`) plugs in the
  same way. Every stream is a pure function of (seed, step), so a checkpoint's data
  position is its step.
- `build(config, info: DataInfo) -> Family`: the model, its objective and its sampler.

The loop owns the rest: sharding, compilation, checkpoints, metrics, progress, evaluation
and figure intervals. What each family in scope gives it (each shape is trained and resumed
by a toy family in tests/training/test_protocol.py):

- A differentiable objective (VAE, PixelCNN, Transformer, RNN, flows, VQ-VAE, DDPM,
  word2vec): `loss_fn(params, model_state, batch, rng, frozen) -> (loss, (aux,
  model_state))`; the default `gradient_update` differentiates it with respect to params
  only. `stateless_loss` lifts a plain `(params, batch, rng) -> (loss, aux)`.
- Mutable state that is not a gradient parameter (BatchNorm statistics, EMA codebook
  counts, streaming EM sufficient statistics): `init_model_state` makes it, the objective
  returns its new value, and the state carries, checkpoints and resumes it. Under `jit` on
  the mesh the batch is one global array, so statistics computed from it are already
  reduced over every device.
- Several networks with their own optimisers (a GAN's generator and discriminator):
  `make_optimizer` returns a dict of optax transforms keyed like params' top level; each
  network's optimiser state is its own (`optimizers.init_optimizer_state`), and an
  `update_fn(state, batch, rng, frozen)` updates any subset of them
  (`optimizers.apply_optimizer(..., only=(...))`), leaving the others bitwise unchanged.
- No gradient at all (EM, PCA in closed form): `update_fn` writes the new params or model
  state itself, and `make_optimizer` returns None.
- A second stage that reads a trained first stage (a prior over a VQ-VAE's codes): `build`
  reads the run with `restore.load_run` and puts its params in `frozen`, and its workdir and
  signature in `upstream`. `frozen` enters the compiled step as an argument (replicated,
  never updated, never folded into the program as constants); `upstream` is recorded in
  every checkpoint, and resuming against another upstream model is refused.
- EMA weights (DDPM): `config.ema_decay > 0`; evaluation and artifacts then see them.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable, Iterator, Mapping

import jax
import ml_collections
import numpy as np

Params = Any
ModelState = Any
Frozen = Any
Batch = Mapping[str, jax.Array]
# (params, model_state, batch, rng, frozen) -> (loss, (aux, new model_state))
LossFn = Callable[[Params, ModelState, Batch, jax.Array, Frozen],
                  tuple[jax.Array, tuple[dict[str, jax.Array], ModelState]]]
# (state, batch, rng, frozen) -> (state, metrics with a 'loss'): a whole update, for
# families whose step is not "differentiate one loss" (GAN, EM, PCA).
UpdateFn = Callable[[Any, Batch, jax.Array, Frozen], tuple[Any, dict[str, jax.Array]]]
# (params, model_state, batch, rng, frozen) -> {metric: per-example values [B]}
EvalFn = Callable[[Params, ModelState, Batch, jax.Array, Frozen], dict[str, jax.Array]]
# (params, model_state, rng, frozen) -> {name: array}
ArtifactsFn = Callable[[Params, ModelState, jax.Array, Frozen], dict[str, Any]]
OptimizerTree = Any  # optax transform, a dict of them keyed like params, or None
# (global_batch_size, process_index, process_count, max_examples) -> padded batches with
# a 0/1 'mask', this host's rows of each
EvalSplit = Callable[[int, int, int, int], Iterator[dict[str, np.ndarray]]]


@dataclasses.dataclass(frozen=True)
class DataInfo:
  """What a family may know of its data when it builds its model.

  Attributes:
    num_train: training examples (tokens for text), for durations in epochs.
    num_classes: label classes; 0 when the data has none.
    example_shape: one example's shape (an image's [H, W, C], a code grid's [H, W]).
    test: the test split's raw arrays, for figures (`ImageArrays` for images).
    vocab_size: distinct tokens or codes, for text and code data; 0 otherwise.
  """
  num_train: int
  num_classes: int = 0
  example_shape: tuple[int, ...] = ()
  test: Any = None
  vocab_size: int = 0

  @property
  def image_shape(self) -> tuple[int, ...]:
    return self.example_shape


@dataclasses.dataclass(frozen=True)
class Data:
  """A family's data: what it may know, the train stream and the eval splits.

  Attributes:
    info: handed to the family's `build`.
    train: a stream with `num_examples`, `global_batch_size`, `batch(step)` and
      `stacked(first_step, num_steps)`, each a pure function of (seed, step).
    splits: eval splits by name; 'test' is evaluated every `eval_every` steps, and
      'train_eval' (when present and the family asks for `train_eval_examples`) beside it.
    description: one line for the log (what was loaded, from where).
  """
  info: DataInfo
  train: Any
  splits: Mapping[str, EvalSplit]
  description: str = ''


@dataclasses.dataclass(frozen=True)
class Family:
  """The pieces of one model family, built from a config by the family's `build`.

  Attributes:
    name: the family's name; with `signature` it marks checkpoints.
    signature: what identifies the model (its config), so that a checkpoint from another
      model is refused with a clear error rather than a shape mismatch.
    init_params: (rng, example_batch) -> params.
    eval_fn: per-example metrics; the loop averages them over the split, skipping padded
      examples.
    loss_fn: the pure objective, minimised by the default gradient update.
    update_fn: replaces the default gradient update when set.
    make_optimizer: replaces `genjax.training.optimizers.make_optimizer` when set; may
      return a dict of transforms (one per network) or None (gradient-free families).
    init_model_state: (rng, example_batch, params) -> model state; None keeps none.
    artifacts_fn: saved for figures; may be None. Its numeric scalars (a sample-based
      score, say) are also metrics: the loop writes them to metrics.jsonl under split
      'artifacts' and into final_metrics.json.
    render_figures: (artifacts_npz_path, out_dir) -> [png paths]; plain NumPy/matplotlib,
      it never imports the training loop.
    final_eval_fn: like eval_fn, run once at the end (e.g. IWAE with large k); may be None.
    eval_summary: split means -> scalar metrics, for metrics that are not means of
      per-example values: eval_fn may give a vector per example (a VQ-VAE's code counts
      [B, K]), averaged over the split like any metric, which this turns into scalars
      (perplexity, the fraction of codes used). None: every metric is a scalar already.
    frozen: params of another run that the step reads and never updates (a jit argument).
    upstream: where `frozen` came from ({'workdir', 'step', 'signature'}), recorded in
      checkpoints.
  """
  name: str
  signature: Mapping[str, Any]
  init_params: Callable[[jax.Array, Batch], Params]
  eval_fn: EvalFn
  loss_fn: LossFn | None = None
  update_fn: UpdateFn | None = None
  make_optimizer: Callable[[], OptimizerTree] | None = None
  init_model_state: Callable[[jax.Array, Batch, Params], ModelState] | None = None
  artifacts_fn: ArtifactsFn | None = None
  render_figures: Callable[[str, str], list[str]] | None = None
  final_eval_fn: EvalFn | None = None
  eval_summary: Callable[[dict[str, np.ndarray]], dict[str, float]] | None = None
  eval_examples: int = 0  # 0: the whole test set
  train_eval_examples: int = 0  # > 0: also evaluate on this many training examples
  frozen: Frozen = None
  upstream: Mapping[str, Any] | None = None


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


def stateless_loss(loss_fn: Callable[[Params, Batch, jax.Array], tuple[jax.Array, dict]]
                   ) -> LossFn:
  """Lifts a plain (params, batch, rng) -> (loss, aux) objective to the loop's form."""

  def lifted(params, model_state, batch, rng, frozen):
    del frozen
    loss, aux = loss_fn(params, batch, rng)
    return loss, (aux, model_state)

  return lifted


def stateless_eval(eval_fn: Callable[[Params, Batch, jax.Array], dict]) -> EvalFn:
  """Lifts a plain (params, batch, rng) -> per-example metrics to the loop's form."""
  return lambda params, model_state, batch, rng, frozen: eval_fn(params, batch, rng)


def stateless_artifacts(artifacts_fn: Callable[[Params, jax.Array], dict]) -> ArtifactsFn:
  """Lifts a plain (params, rng) -> artifacts function to the loop's form."""
  return lambda params, model_state, rng, frozen: artifacts_fn(params, rng)


def to_numpy(tree) -> Any:
  return jax.tree.map(np.asarray, jax.device_get(tree))
